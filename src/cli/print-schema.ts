import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { readFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { GRAPHQL_RESOLVERS, GRAPHQL_SCALARS } from '../graphql-schema';

/**
 * Prints the code-first schema as SDL (`npm run schema:print > schema.graphql`), or with `--check FILE`
 * fails when the committed file differs from what the code builds. Needs no database.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, { logger: false });
  await app.init();
  const factory = app.get(GraphQLSchemaFactory);
  const schema = await factory.create(GRAPHQL_RESOLVERS, GRAPHQL_SCALARS);
  const sdl = `${printSchema(lexicographicSortSchema(schema))}\n`;
  await app.close();
  const checkIndex = process.argv.indexOf('--check');
  if (checkIndex === -1) {
    process.stdout.write(sdl);
    return;
  }
  const file = process.argv[checkIndex + 1] ?? 'schema.graphql';
  const committed = readFileSync(file, 'utf8');
  if (committed !== sdl) {
    process.stderr.write(`${file} differs from the schema the code builds; run "npm run schema:print" and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write(`schema:check: ${file} matches the code-first schema\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
