CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`token_prefix` text NOT NULL,
	`scopes` text NOT NULL,
	`servers` text,
	`expires_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_name_unique` ON `api_tokens` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_token_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `backends` (
	`name` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`transport` text DEFAULT 'streamable-http' NOT NULL,
	`headers_encrypted` text,
	`header_names` text DEFAULT '[]' NOT NULL,
	`timeout_ms` integer DEFAULT 30000 NOT NULL,
	`health_interval_seconds` integer DEFAULT 30 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `config_meta` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `plugins` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`mode` text NOT NULL,
	`priority` integer NOT NULL,
	`hooks` text NOT NULL,
	`conditions` text,
	`config` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `servers` (
	`name` text PRIMARY KEY NOT NULL,
	`backends` text,
	`tools` text,
	`prefix` integer DEFAULT true NOT NULL,
	`auth` text DEFAULT 'token' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
