package deployer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/saitodrom/zdd/internal/redact"
	"github.com/saitodrom/zdd/internal/tlsconf"
)

// HTTPProber is the Prober over HTTP(S), with TLS verified. Its requests never follow
// redirects, so a health page that redirects to a login page does not pass.
type HTTPProber struct {
	client *resty.Client
}

// NewHTTPProber returns a prober whose requests time out after timeout (zero: 5 s), trusting
// the system roots only. NewHTTPProberTLS takes tomcat.ca_file's configuration.
func NewHTTPProber(timeout time.Duration) *HTTPProber {
	return NewHTTPProberTLS(timeout, nil)
}

// NewHTTPProberTLS returns a prober whose requests time out after timeout (zero: 5 s) and
// verify servers with tlsCfg (from tlsconf.Client(tomcat.ca_file); nil means the system roots).
func NewHTTPProberTLS(timeout time.Duration, tlsCfg *tls.Config) *HTTPProber {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	hc := &http.Client{Transport: tlsconf.Transport(tlsCfg)}
	c := resty.NewWithClient(hc).SetTimeout(timeout).SetRedirectPolicy(resty.NoRedirectPolicy()).
		SetHeader("User-Agent", "zdd-gate").SetDisableWarn(true)
	return &HTTPProber{client: c}
}

// Health returns the status code of a GET of url.
func (p *HTTPProber) Health(ctx context.Context, url string) (int, error) {
	resp, err := p.client.R().SetContext(ctx).Get(url)
	if err != nil && !errors.Is(err, resty.ErrAutoRedirectDisabled) {
		return 0, fmt.Errorf("GET %s: %w", redact.URL(url), err)
	}
	return resp.StatusCode(), nil
}

// NewSession GETs url without a cookie and returns the JSESSIONID the application set.
func (p *HTTPProber) NewSession(ctx context.Context, url string) (string, error) {
	resp, err := p.client.R().SetContext(ctx).Get(url)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", redact.URL(url), err)
	}
	if resp.StatusCode() != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d", redact.URL(url), resp.StatusCode())
	}
	for _, c := range resp.Cookies() {
		if c.Name == "JSESSIONID" && c.Value != "" {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("GET %s set no JSESSIONID cookie", redact.URL(url))
}
