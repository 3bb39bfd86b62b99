package contract

// AWS quotas that both the constructs (refusing props early, naming the
// prop) and package budget (counting over the whole assembly) enforce.
const (
	// AppClientsPerPool and ResourceServersPerPool are Cognito's default
	// quotas, adjustable ("Quotas in Amazon Cognito", resource quotas).
	AppClientsPerPool      = 1000
	ResourceServersPerPool = 25
	// ClientCredentialsRequestsPerSecond is Cognito's rate of
	// client-credentials token requests (ClientAuthentication) per account
	// and region, not adjustable ("Quotas in Amazon Cognito").
	ClientCredentialsRequestsPerSecond = 150
	// UsagePlansPerRegion (adjustable) and APIKeysPerRegion (fixed) are
	// API Gateway's per account and region ("Amazon API Gateway quotas").
	UsagePlansPerRegion = 300
	APIKeysPerRegion    = 10_000
)
