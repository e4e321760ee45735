// The comparable units a rate can be shown in (interval-normalised) and their decimals.

export const UNITS = [
  { id: "apr", label: "APR", header: "APR, %", decimals: 2 },
  { id: "1h", label: "1 h", header: "per 1 h, %", decimals: 5 },
  { id: "8h", label: "8 h", header: "per 8 h, %", decimals: 4 },
  { id: "1d", label: "1 d", header: "per 1 d, %", decimals: 4 },
  { id: "7d", label: "7 d", header: "per 7 d, %", decimals: 3 },
];

export function unitOf(id) {
  return UNITS.find((u) => u.id === id) || UNITS[0];
}
