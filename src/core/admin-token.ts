import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from './config/config';

/**
 * The operator bootstrap token. Configured in production; in development it is generated on first start,
 * kept in APN_DATA_DIR (mode 0600) so restarts keep it, and printed once when created.
 */
export function resolveAdminToken(config: AppConfig): { token: string; generated: boolean; file: string | null } {
  if (config.adminToken) return { token: config.adminToken, generated: false, file: null };
  if (config.dataDir !== 'memory' && !config.databaseUrl) {
    const dir = resolve(config.dataDir);
    const file = join(dir, 'admin-token');
    if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
    mkdirSync(dir, { recursive: true });
    const token = `apn-admin-${randomBytes(24).toString('base64url')}`;
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { token, generated: true, file };
  }
  return { token: `apn-admin-${randomBytes(24).toString('base64url')}`, generated: true, file: null };
}
