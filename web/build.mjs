// Bundles web/src into web/dist (make web): one script, the page and its styles.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.ts`],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: `${here}dist/app.js`,
  logLevel: "warning",
});
copyFileSync(`${here}index.html`, `${here}dist/index.html`);
copyFileSync(`${here}styles.css`, `${here}dist/styles.css`);
copyFileSync(`${here}favicon.ico`, `${here}dist/favicon.ico`); // for clients that ask regardless of <link rel=icon>
console.log("web: built web/dist");
