package contract

// Environment variables the constructs set and the functions read.
const (
	// EnvRoutesFile names the route table's file in the function's layer,
	// or several separated by ':' (package routetable).
	EnvRoutesFile = "SCOPEGATE_ROUTES_FILE"

	// The weather-events function: its DynamoDB tables, and the bound on
	// each storage call in milliseconds.
	EnvEventsTable      = "TABLE_NAME"
	EnvIdempotencyTable = "IDEMPOTENCY_TABLE_NAME"
	EnvStorageTimeoutMS = "STORAGE_TIMEOUT_MS"

	// The rotation function: the user pool of the clients whose secrets it
	// rotates, how long (seconds) a previous client secret keeps working,
	// and the function and role its retire schedules use.
	EnvUserPoolID        = "USER_POOL_ID"
	EnvOverlapSeconds    = "OVERLAP_SECONDS"
	EnvRetireFunctionArn = "RETIRE_FUNCTION_ARN"
	EnvRetireRoleArn     = "RETIRE_ROLE_ARN"

	// Functions behind a ScopedAPI: the table of clients suspended without
	// a deploy, and the comma-separated client ids suspended in
	// configuration. Both are refused by the function's route check.
	EnvSuspendedClientsTable = "SCOPEGATE_SUSPENDED_TABLE"
	EnvSuspendedClients      = "SCOPEGATE_SUSPENDED_CLIENTS"
)
