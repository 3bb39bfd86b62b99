package contract

import "time"

// Suspension is one item of the suspended-clients table: a client cut off
// without a deploy, by whom, when and why. The emergency command writes it,
// the functions' route check reads it, and the client report and the
// pre-deploy check list it. A deploy never writes this table, so it cannot
// undo a suspension; the pre-deploy check stops a deploy whose configuration
// does not say suspended for a client listed here.
type Suspension struct {
	// ClientID is the table's partition key (attribute SuspensionKey).
	ClientID   string `json:"clientId"`
	ClientName string `json:"clientName"`
	// By is the ARN of the identity that suspended the client.
	By string `json:"by"`
	// At is when, in RFC 3339 UTC.
	At     string `json:"at"`
	Reason string `json:"reason"`
}

// The suspended-clients table's item attributes, all strings: the
// partition key (the client id), then the others of Suspension.
const (
	SuspensionKey        = "clientId"
	SuspensionClientName = "clientName"
	SuspensionBy         = "by"
	SuspensionAt         = "at"
	SuspensionReason     = "reason"
)

// SuspensionCacheTTL is how long a function trusts what it read from the
// suspended-clients table: a suspension made without a deploy refuses the
// client's requests within this long, plus the command's own time.
const SuspensionCacheTTL = 30 * time.Second
