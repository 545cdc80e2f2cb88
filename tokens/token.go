// Package tokens issues and checks Firebreak's API tokens: bearer secrets with scopes,
// stored only as hashes, plus bootstrap tokens from the config file held in memory.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Prefix starts every generated token. It lets people and secret scanners recognise a
// Firebreak token in a log or a commit at a glance.
const Prefix = "fb_"

// Generate returns a new random token: Prefix followed by 32 bytes from crypto/rand in
// unpadded URL-safe base64, so it fits in a header, a URL or a shell variable unquoted.
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: read random bytes: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the hex SHA-256 of a token, the only form that is stored.
//
// A fast hash is right here, unlike for passwords: a generated token carries 256 bits of
// entropy, so no amount of hashing speed makes guessing it feasible, and a slow KDF (bcrypt,
// argon2) would cost milliseconds on every request while Alertmanager posts thousands of
// times a second. Config tokens are chosen by operators and may be weaker; they never reach
// the database, only memory.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Principal is who a request acts as once its token is checked: the token's name (for logs
// and the timeline) and what it may do.
type Principal struct {
	Name   string
	Scopes Scopes
}
