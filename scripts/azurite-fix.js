// Mends one bug of the pinned Azurite (3.37.0), run by `npm ci` (postinstall) and test.sh:
// Find Blobs by Tags reads at most 5,000 blobs of a container (by name, after the marker), keeps
// those that match, and answers without a continuation marker when fewer than 5,000 matched, so
// every match past the container's first 5,000 blobs is lost (LokiBlobMetadataStore.filterBlobs
// with FilterBlobPage.fill). The Azure service pages its tag index correctly; the cluster repair's
// incremental pass (Grains/Recovery/ClusterRepairGrain.cs) depends on it. The mend reads every
// blob after the marker before filtering; the page still holds at most 5,000 matches and its
// marker is the last one. Idempotent; a later Azurite without the bug's code is left alone.
const fs = require("fs");
const path = require("path");

const file = path.join(__dirname, "..", "node_modules", "azurite", "dist", "src", "blob", "persistence", "LokiBlobMetadataStore.js");
if (!fs.existsSync(file)) {
  console.log("azurite-fix: Azurite is not installed; nothing to mend");
  process.exit(0);
}
const source = fs.readFileSync(file, "utf8");
const start = source.indexOf("async filterBlobs(");
const end = source.indexOf("async listBlobs(", start);
if (start < 0 || end < 0) {
  console.log("azurite-fix: filterBlobs not found; this Azurite is not the one mended here");
  process.exit(0);
}
const body = source.slice(start, end);
const buggy = /\n\s*\.offset\(offset\)\n\s*\.limit\(maxResults\)\n/;
if (body.includes("azurite-fix")) {
  console.log("azurite-fix: already mended");
} else if (!buggy.test(body)) {
  console.log("azurite-fix: filterBlobs has no page limit to mend; left alone");
} else {
  const mended = body.replace(buggy, "\n                // azurite-fix: every blob after the marker, filtered, then paged by FilterBlobPage\n");
  fs.writeFileSync(file, source.slice(0, start) + mended + source.slice(end));
  console.log("azurite-fix: mended Find Blobs by Tags past a container's first 5,000 blobs");
}
