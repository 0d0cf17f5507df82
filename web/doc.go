// Package web embeds Lijiang's user interface (admin console, developer portal,
// consent pages) as static files; it imports nothing of the project.
package web
