// The application's name and version as exports record them (kept equal to package.json by a test).
export const APP = { name: 'Lightbox', version: '0.1.0' } as const;
