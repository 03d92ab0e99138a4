using System.Globalization;
using Microsoft.Net.Http.Headers;

namespace Glance.Api.ImageData;

/// <summary>
/// One byte range of a download, as Glance takes it: <c>Range: bytes=a-b | a- | -n</c>, or the
/// legacy request header <c>Content-Range: bytes a-b/*</c>. Several ranges are a 400, a range
/// that cannot be satisfied a 416. <c>If-Range</c> that does not match turns it off.
/// </summary>
public readonly record struct ByteRange(long Start, long Length)
{
    /// <summary>The range asked for, or null for the whole image.</summary>
    public static ByteRange? Parse(HttpRequest request, long size, EntityTagHeaderValue etag, DateTimeOffset lastModified)
    {
        string? spec = null;
        if (request.Headers.Range is { Count: > 0 } range)
        {
            var text = range.ToString().Trim();
            if (!text.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
            {
                throw Unsatisfiable(request, size);
            }
            spec = text["bytes=".Length..];
            if (spec.Contains(','))
            {
                throw GlanceException.BadRequest("Multiple ranges are not supported.");
            }
        }
        else if (request.Headers.ContentRange is { Count: > 0 } legacy)
        {
            var text = legacy.ToString().Trim();
            spec = text.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase) ? text[6..].Split('/')[0] : throw Unsatisfiable(request, size);
        }
        if (spec is null || !IfRangeMatches(request, etag, lastModified))
        {
            return null;
        }
        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            throw Unsatisfiable(request, size);
        }
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            // Suffix: the last n bytes.
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix) || suffix == 0 || size == 0)
            {
                throw Unsatisfiable(request, size);
            }
            var count = Math.Min(suffix, size);
            return new ByteRange(size - count, count);
        }
        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var start) || start >= size)
        {
            throw Unsatisfiable(request, size);
        }
        var end = size - 1;
        if (last.Length > 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
            {
                throw Unsatisfiable(request, size);
            }
            end = Math.Min(end, size - 1);
        }
        return new ByteRange(start, end - start + 1);
    }

    private static bool IfRangeMatches(HttpRequest request, EntityTagHeaderValue etag, DateTimeOffset lastModified)
    {
        var ifRange = request.GetTypedHeaders().IfRange;
        if (ifRange is null)
        {
            return true;
        }
        return ifRange.EntityTag is { } tag
            ? !tag.IsWeak && tag.Compare(etag, useStrongComparison: true)
            : ifRange.LastModified is { } date && date >= lastModified.AddTicks(-(lastModified.Ticks % TimeSpan.TicksPerSecond));
    }

    private static GlanceException Unsatisfiable(HttpRequest request, long size)
    {
        request.HttpContext.Response.Headers.ContentRange = $"bytes */{size}";
        return new GlanceException(ErrorKind.RangeNotSatisfiable, $"Requested range not satisfiable: the image has {size} bytes.");
    }
}

