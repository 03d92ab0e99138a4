using System.Text;
using System.Text.Encodings.Web;

namespace Glance.Grains.Templates;

/// <summary>
/// The encoder of template output (<c>{{ ... }}</c>), as an HTML template escapes HTML: every value
/// it sees becomes one double-quoted YAML scalar with quotes, backslashes, control characters and
/// YAML line breaks escaped, so no value can end its scalar and start a key (<c>x\nruncmd: [reboot]</c>
/// stays one string). Typed numbers and booleans, lists and maps do not come here: they write
/// themselves (<see cref="YamlSafeValue"/>). Literal template text is not encoded: it is the author's YAML.
/// </summary>
public sealed class YamlEncoder : TextEncoder
{
    /// <summary>The one instance (stateless).</summary>
    public static readonly YamlEncoder Instance = new();

    /// <inheritdoc />
    public override int MaxOutputCharactersPerInputCharacter => 6;

    /// <inheritdoc />
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength) => textLength > 0 ? 0 : -1;

    /// <inheritdoc />
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        // Fluid writes whole values through Encode below; this per-scalar path is not used for output.
        numberOfCharactersWritten = 0;
        return false;
    }

    /// <inheritdoc />
    public override bool WillEncode(int unicodeScalar) => true;

    /// <inheritdoc />
    public override string Encode(string value)
    {
        using var writer = new StringWriter();
        Encode(writer, value, 0, value.Length);
        return writer.ToString();
    }

    /// <inheritdoc />
    public override void Encode(TextWriter output, string value, int startIndex, int characterCount) =>
        Write(output, value.AsSpan(startIndex, characterCount));

    /// <summary>Writes <paramref name="value"/> as one YAML scalar.</summary>
    public static void Write(TextWriter output, ReadOnlySpan<char> value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\r': quoted.Append("\\r"); break;
                case '\t': quoted.Append("\\t"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        quoted.Append(c).Append(value[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        quoted.Append("\\uFFFD");
                    }
                    else if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c is '\u2028' or '\u2029' or '\uFEFF' or '\uFFFE' or '\uFFFF')
                    {
                        // Control characters and YAML's extra line breaks: escaped, never raw.
                        quoted.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        quoted.Append(c);
                    }
                    break;
            }
        }
        output.Write(quoted.Append('"'));
    }
}
