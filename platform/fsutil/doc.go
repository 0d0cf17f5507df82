// Package fsutil holds the few file-system operations every part of Lijiang
// shares: writing a file so that a crash leaves the old content or the new,
// never a torn or half-durable one, and telling a missing file from one that
// cannot be read. It imports nothing of the project.
package fsutil
