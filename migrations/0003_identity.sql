CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`subject` text NOT NULL,
	`team` text,
	`token_id` text,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`object_type` text NOT NULL,
	`object_id` text,
	`status` integer NOT NULL,
	`diff` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_log_team` ON `audit_log` (`team`,`id`);--> statement-breakpoint
CREATE TABLE `team_members` (
	`team` text NOT NULL,
	`subject` text NOT NULL,
	`role` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`team`, `subject`)
);
--> statement-breakpoint
CREATE TABLE `teams` (
	`name` text PRIMARY KEY NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `team` text;--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `role` text;--> statement-breakpoint
ALTER TABLE `backends` ADD `team` text;--> statement-breakpoint
ALTER TABLE `backends` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `backends` ADD `visibility` text DEFAULT 'public' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `team` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `team` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `visibility` text DEFAULT 'public' NOT NULL;