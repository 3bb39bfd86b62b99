package cognito

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// JSON Web Tokens with RS256 (RFC 7519, RFC 7515, RFC 7518 section 3.3), as
// Cognito signs its access tokens, and the JSON Web Key Set (RFC 7517) that
// publishes the public key. Written on the standard library's crypto/rsa:
// signing and checking one algorithm with one key is a few lines, and the
// emulator then adds no module to scopegate's go.mod (which every consumer
// of the constructs downloads). A token from another algorithm or key is
// refused: "alg" must be RS256 and "kid" this key's.

// keyBits is the size of the signing key, as Cognito's (2048-bit RSA).
const keyBits = 2048

// Key is one pool's signing key.
type Key struct {
	ID      string
	private *rsa.PrivateKey
}

// NewKey makes a fresh signing key; kid names it in the tokens' header and
// the JWKS.
func NewKey(kid string) (*Key, error) {
	k, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("cognito: signing key: %w", err)
	}
	return &Key{ID: kid, private: k}, nil
}

var b64 = base64.RawURLEncoding

// Sign returns the compact serialization of claims signed with RS256.
func (k *Key) Sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": k.ID})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("cognito: claims: %w", err)
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.private, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("cognito: signing: %w", err)
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

// JWKS is the key set document of the key.
func (k *Key) JWKS() []byte {
	pub := k.private.PublicKey
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kid": k.ID, "alg": "RS256", "kty": "RSA", "use": "sig",
		"n": b64.EncodeToString(pub.N.Bytes()),
		"e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return doc
}

// Reasons Verify refuses a token.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token not signed by this user pool")
	ErrExpired   = errors.New("token expired")
)

// Verify checks a token's RS256 signature with the key and its exp against
// now, and returns its claims.
func (k *Key) Verify(token string, now time.Time) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	var header struct{ Alg, Kid string }
	raw, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(raw, &header) != nil {
		return nil, ErrMalformed
	}
	if header.Alg != "RS256" || header.Kid != k.ID {
		return nil, ErrSignature
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&k.private.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return nil, ErrSignature
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, ErrMalformed
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, ErrMalformed
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, ErrMalformed
	}
	if !now.Before(time.Unix(int64(exp), 0)) {
		return nil, ErrExpired
	}
	return claims, nil
}
