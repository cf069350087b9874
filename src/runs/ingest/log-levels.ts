/**
 * The level of a trainer's log line, read from where common formats put it, never from words in the
 * message: "INFO - no error" is INFO. Recognised:
 *
 *   2026-11-21 09:00:00,123 - trainer - ERROR - message     Python logging, `%(asctime)s - %(name)s - %(levelname)s - %(message)s`
 *   ERROR:trainer:message                                   Python logging.basicConfig's default
 *   2026-11-21T09:00:00Z WARNING message                    a timestamp, then the level
 *   [2026-11-21 09:00:00] [ERROR] message, <warn> message   the level in brackets
 *   level=error msg=…, {"level": "error", …}                logfmt and JSON loggers
 *
 * WARNING counts as WARN, CRITICAL and FATAL as ERROR, TRACE as DEBUG; upper or lower case. A line with no
 * level in those places (a traceback, a progress bar) has none. Pure: no framework, no database.
 */

export type LogLevelName = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';

const LEVEL_WORD = 'CRITICAL|FATAL|ERROR|ERR|WARNING|WARN|INFO|DEBUG|TRACE';
const CANONICAL: Record<string, LogLevelName> = {
  CRITICAL: 'ERROR',
  FATAL: 'ERROR',
  ERROR: 'ERROR',
  ERR: 'ERROR',
  WARNING: 'WARN',
  WARN: 'WARN',
  INFO: 'INFO',
  DEBUG: 'DEBUG',
  TRACE: 'DEBUG',
};

/** A date and time at the start of a line: ISO-8601, Python's asctime (comma before milliseconds), syslog. */
const TIMESTAMP = String.raw`(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)`;

const PATTERNS: readonly RegExp[] = [
  // ERROR:name:message, ERROR message, ERROR - message, WARNING: message
  new RegExp(`^(${LEVEL_WORD})(?=[:\\s|\\-]|$)`, 'i'),
  // <asctime> - <name> - LEVEL - message (and <asctime> - LEVEL - message)
  new RegExp(`^${TIMESTAMP}\\s+-\\s+(?:[^\\s].*?\\s+-\\s+)?(${LEVEL_WORD})\\s+-\\s`, 'i'),
  // <timestamp> LEVEL message, <timestamp> [LEVEL] message, <timestamp> | LEVEL | …
  new RegExp(`^\\[?${TIMESTAMP}\\]?\\s*[|]?\\s*[[<]?(${LEVEL_WORD})[\\]>]?(?=[:\\s|]|$)`, 'i'),
  // [LEVEL] or <LEVEL> among the first bracketed fields
  new RegExp(`^(?:\\[[^\\]]{0,80}\\]\\s*){0,3}[[<](${LEVEL_WORD})[\\]>]`, 'i'),
  // logfmt and JSON
  new RegExp(`(?:^|\\s)(?:level|lvl|severity)=["']?(${LEVEL_WORD})\\b`, 'i'),
  new RegExp(`"(?:level|levelname|severity)"\\s*:\\s*"(${LEVEL_WORD})"`, 'i'),
];

export function logLevelOf(line: string): LogLevelName | null {
  const head = line.length > 512 ? line.slice(0, 512) : line;
  for (const pattern of PATTERNS) {
    const match = pattern.exec(head);
    if (match) return CANONICAL[match[1].toUpperCase()] ?? null;
  }
  return null;
}
