import { useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/graphiql.css';

// Same-origin only: the console is served by the API it talks to, and the
// CSP (connect-src 'self') would block anything else anyway. Subscriptions go over
// graphql-ws on the same /graphql; the Headers tab becomes the connection_init payload,
// so its `Authorization: Bearer ...` authenticates the WebSocket too.
const httpFetcher = createGraphiQLFetcher({
  url: '/graphql',
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
});

// Every API call needs a bearer token; pre-filling the shape saves a trip to the docs.
// Headers are deliberately not persisted (GraphiQL's default), so tokens never land in localStorage.
const PLACEHOLDER = '<paste your token>';
const defaultHeaders = JSON.stringify({ Authorization: `Bearer ${PLACEHOLDER}` }, null, 2);

function parseHeaders(text) {
  try {
    const parsed = JSON.parse(text.trim() || '{}');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const authOf = (headers) => String(headers?.Authorization ?? headers?.authorization ?? '');

function Console() {
  const liveHeaders = useRef(defaultHeaders);
  const lastToken = useRef('');
  const debounce = useRef(undefined);
  const [generation, setGeneration] = useState(0);

  // GraphiQL 3.8 introspects with the header text it saw at start-up, ignoring later edits
  // (same bug as graphql/graphiql#3961, fixed only in 4.1), so the schema request reads the
  // editor's current text itself. A new fetcher identity is what makes GraphiQL introspect again.
  const fetcher = useMemo(
    () => (params, opts) => {
      if (params.operationName !== 'IntrospectionQuery') return httpFetcher(params, opts);
      const headers = parseHeaders(liveHeaders.current);
      if (!headers) return Promise.resolve({ errors: [{ message: 'The Headers tab is not valid JSON.' }] });
      // Answering locally spares the API a certain 401 on page load, and says what to do instead.
      if (authOf(headers).includes(PLACEHOLDER)) {
        return Promise.resolve({
          errors: [{ message: 'Paste a bearer token into the Headers tab; the schema loads as soon as it is there.' }],
        });
      }
      return httpFetcher(params, { ...opts, headers });
    },
    [generation],
  );

  const onEditHeaders = (text) => {
    liveHeaders.current = text;
    const token = authOf(parseHeaders(text));
    if (!token || token.includes(PLACEHOLDER) || token === lastToken.current) return;
    // Typing a token key by key must not fire an introspection per keystroke.
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => {
      lastToken.current = token;
      setGeneration((g) => g + 1);
    }, 400);
  };

  return (
    <GraphiQL
      fetcher={fetcher}
      defaultHeaders={defaultHeaders}
      onEditHeaders={onEditHeaders}
      isHeadersEditorEnabled
      defaultEditorToolsVisibility="headers"
    />
  );
}

createRoot(document.getElementById('graphiql')).render(<Console />);
