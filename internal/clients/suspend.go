package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/suspensions"
)

// Suspend cuts a client off without a deploy, and prints one line per step:
//
//  1. the suspended-clients table gets the client's item (who: the
//     caller's ARN from STS GetCallerIdentity; when; why), which the
//     functions' route check reads within contract.SuspensionCacheTTL;
//  2. its API key, if it has one, is disabled (API Gateway UpdateApiKey,
//     replace /enabled), which refuses every request of a tiered client on
//     every route at once;
//  3. its app client's OAuth flows are turned off (Cognito
//     UpdateUserPoolClient with AllowedOAuthFlowsUserPoolClient false), so
//     the token endpoint issues it no new token.
//
// Every step is tried even when one before failed: in an emergency, as
// much of the cut as can be made is made. The error lists what failed.
func (t *Tool) Suspend(ctx context.Context, stackName, client, reason string, out io.Writer) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("clients: suspend needs -reason TEXT: why the client is cut off, recorded with who and when")
	}
	s, rec, err := t.target(ctx, stackName, client)
	if err != nil {
		return err
	}
	who, err := t.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("clients: sts GetCallerIdentity (who is suspending): %w", err)
	}
	item := contract.Suspension{ClientID: rec.ClientID, ClientName: rec.Name, By: aws.ToString(who.Arn), At: t.now().Format(time.RFC3339), Reason: reason}
	var failed []error
	existing, created, err := suspensions.Put(ctx, t.DynamoDB, s.table, item)
	switch {
	case err != nil:
		failed = append(failed, err)
		fmt.Fprintf(out, "FAILED  suspended-clients table %s: %v\n", s.table, err)
	case created:
		fmt.Fprintf(out, "done    suspended-clients table %s: %s (%s) suspended by %s at %s: %s\n", s.table, rec.Name, rec.ClientID, item.By, item.At, item.Reason)
	default:
		fmt.Fprintf(out, "kept    suspended-clients table %s: %s was already suspended by %s at %s: %s\n", s.table, rec.Name, existing.By, existing.At, existing.Reason)
	}
	if err := t.setAPIKey(ctx, rec, false, out); err != nil {
		failed = append(failed, err)
	}
	lifetime, err := t.setTokenIssuance(ctx, s, rec, false, out)
	if err != nil {
		failed = append(failed, err)
	}
	cachedUntil := t.now().Add(contract.SuspensionCacheTTL)
	fmt.Fprintf(out, "then    the functions refuse its requests within %s, by %s, once the answers they cached expire\n", contract.SuspensionCacheTTL, cachedUntil.Format(time.RFC3339))
	if rec.APIKeyID == "" {
		fmt.Fprintf(out, "note    no API key: a route whose integration does not re-check (not a scopegate function) accepts its tokens already issued until they expire, up to %s\n", lifetime)
	}
	return joined("suspend", rec.Name, failed)
}

// Resume undoes Suspend, in reverse, and prints one line per step. A client
// suspended in configuration (record.suspended) only loses its table item:
// its API key and token issuance stay off until the configuration says
// otherwise and is deployed.
func (t *Tool) Resume(ctx context.Context, stackName, client string, out io.Writer) error {
	s, rec, err := t.target(ctx, stackName, client)
	if err != nil {
		return err
	}
	var failed []error
	if rec.Suspended {
		fmt.Fprintf(out, "kept    %s is suspended in configuration (clients[].suspended: true in cdk.json): its API key and token issuance stay off until that is removed and deployed\n", rec.Name)
	} else {
		if _, err := t.setTokenIssuance(ctx, s, rec, true, out); err != nil {
			failed = append(failed, err)
		}
		if err := t.setAPIKey(ctx, rec, true, out); err != nil {
			failed = append(failed, err)
		}
	}
	old, existed, err := suspensions.Delete(ctx, t.DynamoDB, s.table, rec.ClientID)
	switch {
	case err != nil:
		failed = append(failed, err)
		fmt.Fprintf(out, "FAILED  suspended-clients table %s: %v\n", s.table, err)
	case existed:
		fmt.Fprintf(out, "done    suspended-clients table %s: removed %s's suspension (by %s at %s: %s)\n", s.table, rec.Name, old.By, old.At, old.Reason)
	default:
		fmt.Fprintf(out, "kept    suspended-clients table %s: %s had no suspension there\n", s.table, rec.Name)
	}
	if !rec.Suspended {
		fmt.Fprintf(out, "then    the functions serve it again within %s, by %s, once the answers they cached expire\n", contract.SuspensionCacheTTL, t.now().Add(contract.SuspensionCacheTTL).Format(time.RFC3339))
	}
	return joined("resume", rec.Name, failed)
}

func joined(verb, name string, failed []error) error {
	if len(failed) == 0 {
		return nil
	}
	msgs := make([]string, len(failed))
	for i, err := range failed {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("clients: %s %s: %d step(s) failed: %s", verb, name, len(failed), strings.Join(msgs, "; "))
}

// target reads the stack and finds the client; suspend and resume need the
// table and the user pool.
func (t *Tool) target(ctx context.Context, stackName, client string) (*stack, contract.ClientRecord, error) {
	s, err := t.readStack(ctx, stackName)
	if err != nil {
		return nil, contract.ClientRecord{}, err
	}
	if err := s.need(s.table, contract.SuspendedClientsTable(t.prefix()), "suspend and resume"); err != nil {
		return nil, contract.ClientRecord{}, err
	}
	if err := s.need(s.userPool, contract.UserPoolID(t.prefix()), "suspend and resume"); err != nil {
		return nil, contract.ClientRecord{}, err
	}
	rec, err := s.find(client)
	return s, rec, err
}

// setAPIKey enables or disables the client's API key (API Gateway REST API
// reference, UpdateApiKey: a patch operation "replace" on "/enabled" with
// "true" or "false"). A client without a key has nothing to change.
func (t *Tool) setAPIKey(ctx context.Context, rec contract.ClientRecord, enabled bool, out io.Writer) error {
	if rec.APIKeyID == "" {
		fmt.Fprintf(out, "skip    API key: %s has none (no rate-limit tier)\n", rec.Name)
		return nil
	}
	verb := map[bool]string{true: "enabled", false: "disabled"}[enabled]
	_, err := t.APIGateway.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{
		ApiKey: aws.String(rec.APIKeyID),
		PatchOperations: []apigwtypes.PatchOperation{{
			Op: apigwtypes.OpReplace, Path: aws.String("/enabled"), Value: aws.String(fmt.Sprint(enabled)),
		}},
	})
	if err != nil {
		fmt.Fprintf(out, "FAILED  API key %s: %v\n", rec.APIKeyID, err)
		return fmt.Errorf("apigateway UpdateApiKey %s: %w", rec.APIKeyID, err)
	}
	fmt.Fprintf(out, "done    API key %s %s\n", rec.APIKeyID, verb)
	return nil
}

// setTokenIssuance turns the app client's OAuth flows off or on, and
// returns how long its access tokens live.
//
// Cognito API reference, UpdateUserPoolClient: "If you don't provide a
// value for an attribute, Amazon Cognito sets it to its default value." So
// the client is described first (DescribeUserPoolClient) and every
// attribute is sent back as it was, with AllowedOAuthFlowsUserPoolClient
// alone changed. The same page says that flag must be true before flows
// and scopes can be configured; whether Cognito keeps the flows and scopes
// sent with it false is not documented, so resume restores them from the
// clients output when the description comes back without them.
func (t *Tool) setTokenIssuance(ctx context.Context, s *stack, rec contract.ClientRecord, on bool, out io.Writer) (string, error) {
	described, err := t.Cognito.DescribeUserPoolClient(ctx, &cognitoidentityprovider.DescribeUserPoolClientInput{UserPoolId: aws.String(s.userPool), ClientId: aws.String(rec.ClientID)})
	if err != nil || described.UserPoolClient == nil {
		if err == nil {
			err = errors.New("no client in the answer")
		}
		fmt.Fprintf(out, "FAILED  Cognito app client %s: %v\n", rec.ClientID, err)
		return "its access token lifetime (unknown)", fmt.Errorf("cognito DescribeUserPoolClient %s: %w", rec.ClientID, err)
	}
	c := described.UserPoolClient
	lifetime := accessTokenLifetime(c)
	if aws.ToBool(c.AllowedOAuthFlowsUserPoolClient) == on {
		fmt.Fprintf(out, "kept    Cognito app client %s: token issuance already %s\n", rec.ClientID, map[bool]string{true: "on", false: "off"}[on])
		return lifetime, nil
	}
	in := updateInput(c)
	in.AllowedOAuthFlowsUserPoolClient = on
	if on && len(in.AllowedOAuthFlows) == 0 {
		in.AllowedOAuthFlows = []cognitotypes.OAuthFlowType{cognitotypes.OAuthFlowTypeClientCredentials}
	}
	if on && len(in.AllowedOAuthScopes) == 0 {
		in.AllowedOAuthScopes = rec.Scopes
	}
	if _, err := t.Cognito.UpdateUserPoolClient(ctx, in); err != nil {
		fmt.Fprintf(out, "FAILED  Cognito app client %s: %v\n", rec.ClientID, err)
		return lifetime, fmt.Errorf("cognito UpdateUserPoolClient %s: %w", rec.ClientID, err)
	}
	if on {
		fmt.Fprintf(out, "done    Cognito app client %s: OAuth flows on, the token endpoint issues it tokens again\n", rec.ClientID)
	} else {
		fmt.Fprintf(out, "done    Cognito app client %s: OAuth flows off, the token endpoint issues it no new token (tokens already issued live up to %s)\n", rec.ClientID, lifetime)
	}
	return lifetime, nil
}

// updateInput is every attribute of c that UpdateUserPoolClient takes, as
// described.
func updateInput(c *cognitotypes.UserPoolClientType) *cognitoidentityprovider.UpdateUserPoolClientInput {
	return &cognitoidentityprovider.UpdateUserPoolClientInput{
		UserPoolId:                               c.UserPoolId,
		ClientId:                                 c.ClientId,
		ClientName:                               c.ClientName,
		AccessTokenValidity:                      c.AccessTokenValidity,
		IdTokenValidity:                          c.IdTokenValidity,
		RefreshTokenValidity:                     c.RefreshTokenValidity,
		TokenValidityUnits:                       c.TokenValidityUnits,
		AuthSessionValidity:                      c.AuthSessionValidity,
		AllowedOAuthFlows:                        c.AllowedOAuthFlows,
		AllowedOAuthFlowsUserPoolClient:          aws.ToBool(c.AllowedOAuthFlowsUserPoolClient),
		AllowedOAuthScopes:                       c.AllowedOAuthScopes,
		AnalyticsConfiguration:                   c.AnalyticsConfiguration,
		CallbackURLs:                             c.CallbackURLs,
		LogoutURLs:                               c.LogoutURLs,
		DefaultRedirectURI:                       c.DefaultRedirectURI,
		EnablePropagateAdditionalUserContextData: c.EnablePropagateAdditionalUserContextData,
		EnableTokenRevocation:                    c.EnableTokenRevocation,
		ExplicitAuthFlows:                        c.ExplicitAuthFlows,
		PreventUserExistenceErrors:               c.PreventUserExistenceErrors,
		ReadAttributes:                           c.ReadAttributes,
		WriteAttributes:                          c.WriteAttributes,
		RefreshTokenRotation:                     c.RefreshTokenRotation,
		SupportedIdentityProviders:               c.SupportedIdentityProviders,
	}
}

// accessTokenLifetime: Cognito API reference, UserPoolClientType:
// AccessTokenValidity is in TokenValidityUnits.AccessToken, hours by
// default, and one hour when not set.
func accessTokenLifetime(c *cognitotypes.UserPoolClientType) string {
	if c.AccessTokenValidity == nil {
		return "1h (Cognito's default)"
	}
	unit := cognitotypes.TimeUnitsTypeHours
	if c.TokenValidityUnits != nil && c.TokenValidityUnits.AccessToken != "" {
		unit = c.TokenValidityUnits.AccessToken
	}
	n := time.Duration(*c.AccessTokenValidity)
	switch unit {
	case cognitotypes.TimeUnitsTypeSeconds:
		return (n * time.Second).String()
	case cognitotypes.TimeUnitsTypeMinutes:
		return (n * time.Minute).String()
	case cognitotypes.TimeUnitsTypeDays:
		return fmt.Sprintf("%d day(s)", n)
	default:
		return (n * time.Hour).String()
	}
}
