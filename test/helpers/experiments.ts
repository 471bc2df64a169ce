/** The experiments file of the contract's example (70/20/10 over two kNN aliases and popular), for the tests. */
export const HOMEPAGE_FILE = {
  experiments: [
    {
      name: 'homepage',
      salt: '2026-12',
      arms: [
        { name: 'control', model: 'knn@production', weight: 70 },
        { name: 'treatment', model: 'knn@staging', weight: 20 },
        { name: 'baseline', model: 'popular', weight: 10 },
      ],
    },
  ],
};
