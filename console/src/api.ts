import { createClient, type Client } from 'graphql-ws';

export interface ApiErrorItem {
  message: string;
  extensions?: { code?: string; field?: string };
}

/** The API's refusal: each error keeps the field it names, so a form can show it beside that field. */
export class ApiError extends Error {
  constructor(readonly errors: ApiErrorItem[]) {
    super(errors.map((e) => e.message).join(' '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

const TOKEN_KEY = 'apn-console-token';

/** The token lives in sessionStorage only: it is gone when the browser tab closes. */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = session.token()): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? ''}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError([{ message: 'The service cannot be reached. Check that it is running, then try again.' }]);
  }
  const body = (await response.json().catch(() => null)) as { data?: T | null; errors?: ApiErrorItem[] } | null;
  if (body?.errors?.length) throw new ApiError(body.errors);
  if (!body?.data) throw new ApiError([{ message: `The service answered HTTP ${response.status} without data.` }]);
  return body.data;
}

let ws: { token: string; client: Client } | null = null;

/** One graphql-ws connection per token, opened on first use. */
export function wsClient(): Client {
  const token = session.token() ?? '';
  if (ws?.token === token) return ws.client;
  void ws?.client.dispose();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const client = createClient({ url, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: Infinity, lazy: true });
  ws = { token, client };
  return client;
}

export function closeWs(): void {
  void ws?.client.dispose();
  ws = null;
}

/** Runs a subscription until the returned function is called. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (message: string) => void,
): () => void {
  return wsClient().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError(result.errors.map((e) => e.message).join(' '));
        else if (result.data) onData(result.data);
      },
      error: (error) => onError(error instanceof Error ? error.message : 'The live connection closed.'),
      complete: () => undefined,
    },
  );
}
