package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// HTTPTokenTester asks a token endpoint for a token with the client
// credentials grant (RFC 6749 section 4.4), the client authenticated with
// HTTP Basic (section 2.3.1). A 200 answer with an access_token is success;
// the token itself is dropped.
//
// It sends credentials over https only, or over http to a loopback address
// (127.0.0.0/8, ::1, localhost), for tests. It never follows a redirect.
type HTTPTokenTester struct {
	// Client sends the request; nil means one with a 10 s timeout. Its
	// redirect policy is replaced by "never follow".
	Client *http.Client
}

// maxTokenResponse bounds the answer read.
const maxTokenResponse = 64 << 10

// oauthErrorCode is what an OAuth error code may look like (RFC 6749
// section 5.2); anything else is not quoted.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// Test implements TokenTester. Its errors never hold the secret or a token.
func (h HTTPTokenTester) Test(ctx context.Context, tokenURL, clientID, clientSecret string) error {
	u, err := url.Parse(tokenURL)
	if err != nil || u.Host == "" {
		return errors.New("the token URL is not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("refusing to send client credentials to %s://%s: not https", u.Scheme, u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 2.3.1: each part form-encoded before Basic encoding, as
	// golang.org/x/oauth2 does.
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))

	client := http.Client{Timeout: 10 * time.Second}
	if h.Client != nil {
		client = *h.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return fmt.Errorf("token response: %w", err)
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	decodeErr := json.Unmarshal(body, &answer)
	if resp.StatusCode != http.StatusOK {
		code := ""
		if decodeErr == nil && oauthErrorCode.MatchString(answer.Error) {
			code = " " + answer.Error
		}
		return fmt.Errorf("the token endpoint answered %d%s", resp.StatusCode, code)
	}
	if decodeErr != nil || answer.AccessToken == "" {
		return errors.New("the token endpoint answered 200 without an access_token")
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
