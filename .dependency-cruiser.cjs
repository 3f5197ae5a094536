// The import structure, checked: `npm run check:deps` (CI runs it). The layers, lowest first:
//
//   protocol/, config/, analysis/, i18n/  →  log/  →  camera/, inference/, storage/  →  pipeline/, survey/,
//   campaign/  →  service-context  →  stream/, systemd/  →  http/  →  cli/          kiosk/ → protocol/ only
//
// (the README's "Where things live" draws the same picture)
//
// A module may import from its own floor or below, never above. Type-only imports count too
// (tsPreCompilationDeps): a type is as much a dependency for a reader as a value is.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import circles make load order matter and hide which module stands on which. Tests run commands through their spec (runCommand), not through exports the work module adds for them.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-is-a-leaf',
      severity: 'error',
      comment: 'server/protocol/ is the vocabulary shared by the server and the kiosk: it imports nothing else of the server.',
      from: { path: '^server/protocol/' },
      to: { path: '^server/', pathNot: '^server/protocol/' },
    },
    {
      name: 'kiosk-imports-only-protocol',
      severity: 'error',
      comment: 'The kiosk is bundled for the browser: from the server it takes only the protocol (wire format, API and analysis report types).',
      from: { path: '^kiosk/' },
      to: { path: '^server/', pathNot: '^server/protocol/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'cli/ is the top floor: commands use the layers below, nothing below uses a command.',
      from: { path: '^server/', pathNot: '^server/cli/' },
      to: { path: '^server/cli/' },
    },
    {
      name: 'lower-layers-not-up-to-delivery',
      severity: 'error',
      comment:
        'Camera, inference, analysis, storage, pipeline, survey and the base modules do not depend on how results are delivered (http/, stream/, systemd/).',
      from: { path: '^server/(protocol|config|log|analysis|i18n|camera|inference|storage|pipeline|survey|campaign)/' },
      to: { path: '^server/(http|stream|systemd)/' },
    },
    {
      name: 'stream-not-up-to-http',
      severity: 'error',
      comment: 'The WebSocket layer sits below the HTTP app: admission is shared from http/admission.ts via the composition root, not imported by the stream.',
      from: { path: '^server/stream/' },
      to: { path: '^server/http/' },
    },
    {
      name: 'stream-not-into-pipeline',
      severity: 'error',
      comment:
        'A processed frame carries its own wire form (ProcessedFrame.wireMask) and the pipeline is seen through PipelineHandle (service-context.ts): the WebSocket layer does not reach into the frame loop.',
      from: { path: '^server/stream/' },
      to: { path: '^server/pipeline/' },
    },
    {
      name: 'base-layers-stay-down',
      severity: 'error',
      comment: 'config/ and log/ sit under everything that runs: they do not import the camera, the model, storage or the pipeline.',
      from: { path: '^server/(config|log|protocol|analysis)/' },
      to: { path: '^server/(camera|inference|storage|pipeline|survey|campaign|service-context)' },
    },
    {
      name: 'model-and-sources-below-pipeline',
      severity: 'error',
      comment: 'camera/, inference/ and storage/ are below the pipeline and the service context.',
      from: { path: '^server/(camera|inference|storage)/' },
      to: { path: '^server/(pipeline|survey|campaign)/|^server/service-context\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|kiosk/dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
    },
  },
};
