// Pass 2 of `npm run test:mutation`: components/ against tests/components and tests/config.
import { pass } from "./passes.mjs";

export default pass("components", { mutate: ["components/**/*.ts"], jestConfig: "tests/mutation/jest.config.js" });
