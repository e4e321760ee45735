// CSV export of rows already on the page (RFC 4180 quoting), downloaded as a file.

function cell(v) {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? String(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(fields, rows) {
  const lines = [fields.join(",")];
  for (const r of rows) lines.push(fields.map((f) => cell(r[f])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export function downloadCsv(filename, fields, rows) {
  const blob = new Blob([toCsv(fields, rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename.replace(/[^\w.-]+/g, "_");
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
