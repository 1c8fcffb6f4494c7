CREATE TABLE `span_rollups` (
	`minute` integer NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`backend` text DEFAULT '' NOT NULL,
	`outcome` text DEFAULT '' NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`sum_ms` real DEFAULT 0 NOT NULL,
	`b0` integer DEFAULT 0 NOT NULL,
	`b1` integer DEFAULT 0 NOT NULL,
	`b2` integer DEFAULT 0 NOT NULL,
	`b3` integer DEFAULT 0 NOT NULL,
	`b4` integer DEFAULT 0 NOT NULL,
	`b5` integer DEFAULT 0 NOT NULL,
	`b6` integer DEFAULT 0 NOT NULL,
	`b7` integer DEFAULT 0 NOT NULL,
	`b8` integer DEFAULT 0 NOT NULL,
	`b9` integer DEFAULT 0 NOT NULL,
	`b10` integer DEFAULT 0 NOT NULL,
	`b11` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`minute`, `kind`, `name`, `backend`, `outcome`)
);
--> statement-breakpoint
CREATE TABLE `spans` (
	`span_id` text PRIMARY KEY NOT NULL,
	`trace_id` text NOT NULL,
	`parent_span_id` text,
	`name` text NOT NULL,
	`start_ms` integer NOT NULL,
	`duration_ms` real NOT NULL,
	`status` text NOT NULL,
	`method` text,
	`tool` text,
	`backend` text,
	`attributes` text NOT NULL,
	`rolled_up` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `spans_start_idx` ON `spans` (`start_ms`);--> statement-breakpoint
CREATE INDEX `spans_trace_idx` ON `spans` (`trace_id`);--> statement-breakpoint
CREATE INDEX `spans_tool_idx` ON `spans` (`tool`,`start_ms`);--> statement-breakpoint
CREATE INDEX `spans_backend_idx` ON `spans` (`backend`,`start_ms`);