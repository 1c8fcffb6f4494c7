ALTER TABLE `backends` ADD `failure_threshold` integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `backends` ADD `cooldown_seconds` integer DEFAULT 30 NOT NULL;