using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;

namespace Glance.Grains.Templates;

/// <summary>
/// The encoder of template output (<c>{{ ... }}</c>), as an HTML template escapes HTML: every value
/// becomes one YAML scalar. Numbers and true/false are written plain; anything else as a
/// double-quoted scalar with quotes, backslashes, control characters and YAML line breaks escaped,
/// so no value can end its scalar and start a key (<c>x\nruncmd: [reboot]</c> stays one string).
/// Literal template text is not encoded: it is the template author's YAML.
/// </summary>
public sealed partial class YamlEncoder : TextEncoder
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
        if (IsPlain(value))
        {
            output.Write(value);
            return;
        }
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

    /// <summary>Numbers (no leading zero: YAML 1.1 would read 0777 as octal) and booleans stay plain.</summary>
    private static bool IsPlain(ReadOnlySpan<char> value) =>
        value is "true" or "false" || Plain().IsMatch(value);

    [GeneratedRegex(@"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?$", RegexOptions.CultureInvariant)]
    private static partial Regex Plain();
}
