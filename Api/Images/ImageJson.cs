using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Glance.Api.Images;

/// <summary>
/// Writes images and members in the Images API v2 JSON shape: additional properties
/// flattened at the top level (before the base attributes, as Glance orders them), every
/// base attribute present (null when unset), timestamps in whole seconds with a Z.
/// Written by hand with Utf8JsonWriter: this is the hottest path of the service.
/// </summary>
public static class ImageJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes one image as the whole response body.</summary>
    public static Task WriteImageAsync(HttpContext context, ImageRecord image, int status = StatusCodes.Status200OK) =>
        WriteBodyAsync(context, status, writer => WriteImage(writer, image));

    /// <summary>A 200 whose body is <c>{"name": [items]}</c>, the shape of Glance's simple lists.</summary>
    public static Task WriteListAsync<T>(HttpContext context, string name, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeItem) =>
        WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray(name);
            foreach (var item in items)
            {
                writeItem(w, item);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });

    /// <summary>Past this many bytes a list body is streamed rather than held whole.</summary>
    private const int StreamAbove = 256 * 1024;

    /// <summary>
    /// A 200 whose body is a list page (<c>start</c>, then each item, then <c>end</c>): buffered while
    /// small, so the common page keeps its Content-Length; streamed in pieces of about 256 KiB once
    /// larger, so a page of images carrying the most metadata costs the server that much, not the page.
    /// </summary>
    public static async Task WritePageAsync<T>(HttpContext context, IEnumerable<T> items, Action<Utf8JsonWriter> start,
        Action<Utf8JsonWriter, T> writeItem, Action<Utf8JsonWriter> end)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        var streaming = false;
        await using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            start(writer);
            foreach (var item in items)
            {
                writeItem(writer, item);
                if (writer.BytesPending + buffer.WrittenCount > StreamAbove)
                {
                    writer.Flush();
                    if (!streaming)
                    {
                        context.Response.StatusCode = StatusCodes.Status200OK;
                        context.Response.ContentType = "application/json";
                        streaming = true;
                    }
                    await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
                    buffer.ResetWrittenCount();
                }
            }
            end(writer);
        }
        if (!streaming)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = buffer.WrittenCount;
        }
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>Serializes a body into a buffer first, so the response carries a Content-Length.</summary>
    public static async Task WriteBodyAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory);
    }

    /// <summary>Writes one image object.</summary>
    public static void WriteImage(Utf8JsonWriter w, ImageRecord image)
    {
        w.WriteStartObject();
        foreach (var (key, value) in image.Properties)
        {
            w.WriteString(key, value);
        }
        w.WriteString("name", image.Name);
        w.WriteString("disk_format", image.DiskFormat);
        w.WriteString("container_format", image.ContainerFormat);
        w.WriteString("visibility", WireNames.Of(image.Visibility));
        WriteNumber(w, "size", image.Size);
        WriteNumber(w, "virtual_size", image.VirtualSize);
        w.WriteString("status", WireNames.Of(image.Status));
        w.WriteString("checksum", image.Checksum);
        w.WriteBoolean("protected", image.Protected);
        w.WriteNumber("min_ram", image.MinRam);
        w.WriteNumber("min_disk", image.MinDisk);
        w.WriteString("owner", image.Owner);
        w.WriteBoolean("os_hidden", image.OsHidden);
        w.WriteString("os_hash_algo", image.OsHashAlgo);
        w.WriteString("os_hash_value", image.OsHashValue);
        var id = image.Id.ToString();
        w.WriteString("id", id);
        w.WriteString("created_at", Timestamp(image.CreatedAt));
        w.WriteString("updated_at", Timestamp(image.UpdatedAt));
        w.WriteStartArray("tags");
        foreach (var tag in image.Tags)
        {
            w.WriteStringValue(tag);
        }
        w.WriteEndArray();
        w.WriteString("self", $"/v2/images/{id}");
        w.WriteString("file", $"/v2/images/{id}/file");
        w.WriteString("schema", "/v2/schemas/image");
        w.WriteEndObject();
    }

    /// <summary>Writes one member object.</summary>
    public static void WriteMember(Utf8JsonWriter w, ImageMember member)
    {
        w.WriteStartObject();
        w.WriteString("created_at", Timestamp(member.CreatedAt));
        w.WriteString("image_id", member.ImageId.ToString());
        w.WriteString("member_id", member.MemberId);
        w.WriteString("schema", "/v2/schemas/member");
        w.WriteString("status", WireNames.Of(member.Status));
        w.WriteString("updated_at", Timestamp(member.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>Glance's timestamp format: ISO 8601, UTC, whole seconds.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void WriteNumber(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } number)
        {
            w.WriteNumber(name, number);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
