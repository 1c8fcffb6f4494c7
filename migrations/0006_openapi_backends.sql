ALTER TABLE `backends` ADD `openapi` text;--> statement-breakpoint
ALTER TABLE `backends` ADD `openapi_operations` text;