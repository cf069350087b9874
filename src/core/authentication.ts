/**
 * How core authenticates a request without knowing who callers are: the application gives an
 * implementation (tenancy's AuthService) to the HTTP hook and the WebSocket handshake. It throws an
 * AppError (UNAUTHENTICATED) for a bad token and answers the caller otherwise; core only passes it on.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<unknown>;
}
