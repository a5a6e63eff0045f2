/** The settings the example reads at build time (Vite puts `VITE_*` variables in the bundle). */
interface ImportMetaEnv {
  readonly VITE_GATEHOUSE_ISSUER?: string;
  readonly VITE_GATEHOUSE_CLIENT_ID?: string;
  readonly VITE_API_URL?: string;
  readonly VITE_SILENT_LOGIN?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
