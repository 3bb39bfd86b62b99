package cdktest

// TieredWeatherConfig is the "scopegate" configuration the tests of tiers
// and suspension share: WeatherEvents with tiers gold and bronze (the
// default), reporting in gold, janitor and the seed's weather-service in
// bronze, retired suspended, and the token budget alarm notifying a topic.
const TieredWeatherConfig = `{"weatherEvents": {
	"clients": [
		{"name": "reporting", "scopes": ["weather-api/get"], "accessTokenValidityMinutes": 15, "tier": "gold"},
		{"name": "janitor", "scopes": ["weather-api/get", "weather-api/delete"], "accessTokenValidityMinutes": 5},
		{"name": "retired", "scopes": ["weather-api/get"], "suspended": true}
	],
	"tiers": [
		{"name": "gold", "rateLimit": 20, "burstLimit": 40, "quota": {"limit": 1000000, "period": "MONTH"}},
		{"name": "bronze", "rateLimit": 5, "burstLimit": 10}
	],
	"defaultTier": "bronze"
}, "tokenBudget": {"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:token-budget"}}`
