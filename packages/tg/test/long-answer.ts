/**
 * Long Markdown answers like the ones that froze the old converter: every construct, many
 * lines, numbered so that order and completeness can be checked.
 */
export function longAnswer(length: number): string {
  const blocks: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const block = [
      `## Section ${i}`,
      `Paragraph ${i} has **bold ${i}**, _italic ${i}_, \`code ${i}\`, ~~gone ${i}~~, ||secret ${i}||, a [link ${i}](https://example.com/${i}) and 😀 emoji.\nIts second line ends here.`,
      `- item ${i}.1 with *emphasis*\n- item ${i}.2\n  - nested ${i}.3\n1. first ${i}\n2. second ${i}`,
      `> quoted ${i}\n> still quoted ${i}`,
      `\`\`\`ts\nconst value${i} = ${i};\nfunction twice${i}(n: number) {\n  return n * 2;\n}\n\`\`\``,
      `| key | value |\n|-----|-------|\n| k${i} | v${i} |`,
    ].join("\n\n");
    blocks.push(block);
    size += block.length + 2;
  }
  return blocks.join("\n\n");
}

/** One long paragraph broken into many lines: the shape that made the old splitter quadratic. */
export function manyLines(length: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const line = `line **${i}** with _some_ text, \`code\` and 1.5!`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n");
}
