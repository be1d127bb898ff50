/** Bounds on what we accept: generous for real traffic, tight enough that no callback can exhaust memory. */
export const INBOUND_LIMITS = {
  messages: 100,
  actions: 100,
  mids: 1000,
  avatars: 20,
  userInfos: 50,
  idLength: 256,
  tokenLength: 8192,
  /** Deepest JSON nesting accepted in a callback body (the real format needs about six). */
  jsonDepth: 64,
} as const;

/** The Chat API's limits on what a bot sends, in Unicode code points. */
export const OUTBOUND_LIMITS = {
  text: 2000,
  imageUrl: 4096,
  previewUrl: 4096,
  linkUrl: 4096,
  buttonsImageUrl: 1000,
  buttonsTitle: 40,
  buttonsDesc: 160,
  /** `desc` when the buttons message also has an image or a title. */
  buttonsDescWithHeader: 60,
  buttonsActionsMin: 1,
  buttonsActionsMax: 4,
  actionLabel: 20,
  postbackData: 300,
  actionText: 300,
} as const;
