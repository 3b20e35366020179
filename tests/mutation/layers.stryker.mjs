// Pass 1 of `npm run test:mutation`: config/ and render/ against tests/config and tests/render.
import { pass } from "./passes.mjs";

export default pass("layers", { mutate: ["config/**/*.ts", "render/**/*.ts"], jestConfig: "tests/mutation/jest.layers.config.js" });
