export function migratedDatabases(config?: string): { binding: string; name: string; migrationsDir: string }[];
export function migrateAll(options?: {
  remote?: boolean;
  persistTo?: string;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}): void;
