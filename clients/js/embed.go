// Package js holds natter's JavaScript client, natter-client (published
// to npm from this directory), for the node to serve: the browser page
// imports these very files, so the page and npm users run one copy and
// there is nothing to keep in step. The npm package leaves this file out
// (package.json "files").
package js

import "embed"

// Modules are the client's ES modules (src/*.js), loaded by browsers as
// they are: no build step.
//
//go:embed src/*.js
var Modules embed.FS
