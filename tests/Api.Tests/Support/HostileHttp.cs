using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Glance.Api.Tests.Support;

/// <summary>How a <see cref="RawBody"/> is framed on the wire.</summary>
public enum BodyFraming
{
    /// <summary><c>Content-Length: n</c>, then the bytes.</summary>
    ContentLength,

    /// <summary><c>Transfer-Encoding: chunked</c>, in chunks of at most 64 KiB.</summary>
    Chunked,
}

/// <summary>
/// A body made of a prefix, <see cref="FillCount"/> copies of one byte and a suffix, streamed as
/// it is sent: a request of many MiB costs the client no memory (which the fuzz test measures).
/// </summary>
public sealed record RawBody(byte[] Prefix, long FillCount = 0, byte Fill = (byte)'a', byte[]? Suffix = null,
    BodyFraming Framing = BodyFraming.ContentLength)
{
    /// <summary>The body's length in bytes.</summary>
    public long Length => Prefix.Length + FillCount + (Suffix?.Length ?? 0);

    /// <summary>A body of exactly these bytes.</summary>
    public static RawBody Of(byte[] bytes, BodyFraming framing = BodyFraming.ContentLength) => new(bytes, Framing: framing);
}

/// <summary>
/// One HTTP/1.1 request as bytes: a request line and headers built from the parts (values are
/// bytes, so they may be anything), or <see cref="Verbatim"/> bytes sent as they are.
/// </summary>
public sealed class RawRequest
{
    /// <summary>The method token (not validated).</summary>
    public string Method { get; init; } = "GET";

    /// <summary>The request target exactly as sent (percent-encoding is the caller's).</summary>
    public string Target { get; init; } = "/";

    /// <summary>Header names and raw values, in order.</summary>
    public List<(string Name, byte[] Value)> Headers { get; } = [];

    /// <summary>The body, if any; its framing header is added unless <see cref="Headers"/> already has one.</summary>
    public RawBody? Body { get; init; }

    /// <summary>When set, sent instead of the request line and headers (malformed HTTP).</summary>
    public byte[]? Verbatim { get; init; }

    /// <summary>Adds a header with an ASCII value.</summary>
    public RawRequest With(string name, string value) => With(name, Encoding.ASCII.GetBytes(value));

    /// <summary>Adds a header with raw value bytes.</summary>
    public RawRequest With(string name, byte[] value)
    {
        Headers.Add((name, value));
        return this;
    }

    /// <summary>True when a header of that name is present.</summary>
    public bool Has(string name) => Headers.Exists(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The request line and headers; every request asks for <c>Connection: close</c>.</summary>
    public byte[] Head()
    {
        if (Verbatim is { } verbatim)
        {
            return verbatim;
        }
        using var head = new MemoryStream();
        void Line(string text) => head.Write(Encoding.ASCII.GetBytes(text + "\r\n"));
        Line($"{Method} {Target} HTTP/1.1");
        Line("Host: 127.0.0.1");
        Line("Connection: close");
        foreach (var (name, value) in Headers)
        {
            head.Write(Encoding.ASCII.GetBytes(name + ": "));
            head.Write(value);
            head.Write("\r\n"u8);
        }
        if (Body is { } body && !Has("Content-Length") && !Has("Transfer-Encoding"))
        {
            Line(body.Framing == BodyFraming.Chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {body.Length}");
        }
        Line("");
        return head.ToArray();
    }

    /// <summary>A one-line description for failure reports (method, target, headers, body size and start).</summary>
    public string Describe()
    {
        if (Verbatim is { } verbatim)
        {
            return "raw: " + Printable(verbatim, 160);
        }
        var text = new StringBuilder($"{Method} {Clip(Target, 160)}");
        foreach (var (name, value) in Headers.Take(8))
        {
            text.Append($" [{name}: {Printable(value, 60)}]");
        }
        if (Headers.Count > 8)
        {
            text.Append($" (+{Headers.Count - 8} more headers)");
        }
        if (Body is { } body)
        {
            text.Append($" body {body.Length} bytes {body.Framing}: {Printable(body.Prefix, 120)}");
            if (body.FillCount > 0)
            {
                text.Append($"<{body.FillCount} x '{(char)body.Fill}'>");
            }
            if (body.Suffix is { } suffix)
            {
                text.Append(Printable(suffix, 40));
            }
        }
        return text.ToString();
    }

    /// <summary>Bytes as text with non-printable ones as <c>\xNN</c>, clipped.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes, int max)
    {
        var text = new StringBuilder();
        foreach (var b in bytes[..Math.Min(bytes.Length, max)])
        {
            text.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:X2}");
        }
        if (bytes.Length > max)
        {
            text.Append($"...({bytes.Length} bytes)");
        }
        return text.ToString();
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max] + $"...({text.Length} chars)";
}

/// <summary>A response read to the end of the connection (interim 1xx responses skipped).</summary>
/// <param name="Status">The status code; 0 when no response arrived.</param>
/// <param name="Headers">Header values by lower-case name (repeated headers joined with ", ").</param>
/// <param name="Body">The body (de-chunked), at most the first MiB of it.</param>
/// <param name="Truncated">True when the body was longer than what <see cref="Body"/> kept.</param>
/// <param name="Elapsed">From connecting to the last byte of the response.</param>
/// <param name="Error">Why no (complete) response arrived, if so.</param>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool Truncated, TimeSpan Elapsed, string? Error)
{
    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;

    /// <summary>The body as text (UTF-8), clipped for reports.</summary>
    public string Text(int max = 300) => RawRequest.Printable(Body, max);
}

/// <summary>
/// A minimal HTTP/1.1 client over a plain socket, one connection per request: it sends what
/// HttpClient refuses to (bytes that are not valid in a header, lying or huge bodies, malformed
/// request lines) and reads whatever comes back, to the end of the connection. (RawHttp in
/// ImageDataSupport drives one upload step by step; this sends whole requests of any bytes.)
/// </summary>
public static class HostileHttp
{
    // What a response keeps of its body: enough for any error body; list pages of a service that
    // lets metadata grow are read to the end but not kept.
    private const int KeptBytes = 1 << 20;
    private const int ChunkBytes = 64 * 1024;

    /// <summary>Sends the request and reads the response; never throws for network failures or timeouts.</summary>
    public static async Task<RawResponse> SendAsync(IPEndPoint server, RawRequest request, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        using var cancel = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var kept = new MemoryStream();
        var truncated = false;
        string? error = null;
        try
        {
            await socket.ConnectAsync(server, cancel.Token);
            // Written while the response is read: a server that answers before reading the whole
            // body (413, 415, 404) is heard even when it then stops reading.
            var writing = WriteAsync(socket, request, cancel.Token);
            var buffer = new byte[ChunkBytes];
            try
            {
                while (true)
                {
                    var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
                    if (read == 0)
                    {
                        break;
                    }
                    var keep = (int)Math.Min(read, KeptBytes - kept.Length);
                    kept.Write(buffer, 0, keep);
                    truncated |= keep < read;
                }
            }
            catch (SocketException e) when (kept.Length > 0)
            {
                // A reset after the response arrived (the server closed with unread body bytes).
                error = $"connection {e.SocketErrorCode} after the response";
            }
            await writing;
        }
        catch (OperationCanceledException)
        {
            error = $"no complete response within {timeout.TotalSeconds:0} s";
        }
        catch (SocketException e)
        {
            error = $"connection {e.SocketErrorCode}";
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        return Parse(kept.ToArray(), truncated, elapsed, error);
    }

    private static async Task WriteAsync(Socket socket, RawRequest request, CancellationToken cancel)
    {
        try
        {
            await socket.SendAsync(request.Head(), SocketFlags.None, cancel);
            if (request.Body is not { } body)
            {
                return;
            }
            var chunked = body.Framing == BodyFraming.Chunked;
            foreach (var piece in Pieces(body))
            {
                if (chunked)
                {
                    await socket.SendAsync(Encoding.ASCII.GetBytes($"{piece.Length:x}\r\n"), SocketFlags.None, cancel);
                }
                await socket.SendAsync(piece, SocketFlags.None, cancel);
                if (chunked)
                {
                    await socket.SendAsync("\r\n"u8.ToArray(), SocketFlags.None, cancel);
                }
            }
            if (chunked)
            {
                await socket.SendAsync("0\r\n\r\n"u8.ToArray(), SocketFlags.None, cancel);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The server stopped reading (it answered early and closed), or the request timed
            // out: its answer, or the lack of one, is what counts.
        }
    }

    /// <summary>The body in pieces of at most 64 KiB, the fill generated piece by piece.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(RawBody body)
    {
        foreach (var part in Split(body.Prefix))
        {
            yield return part;
        }
        if (body.FillCount > 0)
        {
            var fill = new byte[ChunkBytes];
            Array.Fill(fill, body.Fill);
            for (var left = body.FillCount; left > 0; left -= ChunkBytes)
            {
                yield return fill.AsMemory(0, (int)Math.Min(left, ChunkBytes));
            }
        }
        foreach (var part in Split(body.Suffix ?? []))
        {
            yield return part;
        }
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Split(byte[] bytes)
    {
        for (var at = 0; at < bytes.Length; at += ChunkBytes)
        {
            yield return bytes.AsMemory(at, Math.Min(ChunkBytes, bytes.Length - at));
        }
    }

    private static RawResponse Parse(byte[] raw, bool truncated, TimeSpan elapsed, string? error)
    {
        var empty = new Dictionary<string, string>();
        var at = 0;
        while (true)
        {
            var end = IndexOf(raw, "\r\n\r\n"u8, at);
            if (end < 0)
            {
                return new RawResponse(0, empty, raw, truncated, elapsed, error ?? (raw.Length == 0 ? "connection closed without a response" : "incomplete response head"));
            }
            var lines = Encoding.Latin1.GetString(raw, at, end - at).Split("\r\n");
            var statusParts = lines[0].Split(' ', 3);
            if (statusParts.Length < 2 || !int.TryParse(statusParts[1], out var status))
            {
                return new RawResponse(0, empty, raw, truncated, elapsed, $"bad status line '{lines[0]}'");
            }
            at = end + 4;
            if (status is >= 100 and < 200)
            {
                continue; // 100 Continue before the real answer
            }
            var headers = new Dictionary<string, string>();
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':');
                if (colon <= 0)
                {
                    continue;
                }
                var name = line[..colon].Trim().ToLowerInvariant();
                var value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
            }
            var body = raw.AsSpan(at).ToArray();
            if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                body = Dechunk(body);
            }
            return new RawResponse(status, headers, body, truncated, elapsed, error);
        }
    }

    /// <summary>The data of a chunked body (as much as was kept).</summary>
    private static byte[] Dechunk(byte[] chunked)
    {
        using var data = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var lineEnd = IndexOf(chunked, "\r\n"u8, at);
            if (lineEnd < 0)
            {
                break;
            }
            var sizeText = Encoding.ASCII.GetString(chunked, at, lineEnd - at).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }
            at = lineEnd + 2;
            var take = Math.Min(size, chunked.Length - at);
            data.Write(chunked, at, take);
            at += size + 2;
        }
        return data.ToArray();
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle, int from) =>
        haystack.AsSpan(from).IndexOf(needle) is var i and >= 0 ? from + i : -1;
}
