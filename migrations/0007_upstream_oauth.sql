CREATE TABLE `upstream_connections` (
	`subject` text NOT NULL,
	`backend` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`subject`, `backend`)
);
--> statement-breakpoint
CREATE INDEX `upstream_connections_backend` ON `upstream_connections` (`backend`);--> statement-breakpoint
ALTER TABLE `backends` ADD `auth` text;