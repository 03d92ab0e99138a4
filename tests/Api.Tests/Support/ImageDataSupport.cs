using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Glance.Api.Tests.Support;

/// <summary>Uploads, downloads and the files behind them, for the image-data tests.</summary>
public static class ImageBytes
{
    /// <summary>The upload media type.</summary>
    public const string OctetStream = "application/octet-stream";

    /// <summary>md5 of nothing.</summary>
    public const string EmptyMd5 = "d41d8cd98f00b204e9800998ecf8427e";

    /// <summary>Reproducible pseudo-random bytes.</summary>
    public static byte[] Bytes(int count, int seed = 1)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Lower-case hex md5.</summary>
    public static string Md5(byte[] data) => Convert.ToHexStringLower(MD5.HashData(data));

    /// <summary>Lower-case hex sha512.</summary>
    public static string Sha512(byte[] data) => Convert.ToHexStringLower(SHA512.HashData(data));

    /// <summary>A body with a Content-Length, as application/octet-stream (or <paramref name="mediaType"/>; none when null).</summary>
    public static HttpContent Octets(byte[] data, string? mediaType = OctetStream)
    {
        var content = new ByteArrayContent(data);
        if (mediaType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }
        return content;
    }

    /// <summary>A body without a length (sent chunked), written in pieces of <paramref name="piece"/> bytes.</summary>
    public static StreamingContent Chunked(byte[] data, int piece = 64 * 1024) => new(async (stream, cancellationToken) =>
    {
        for (var offset = 0; offset < data.Length; offset += piece)
        {
            await stream.WriteAsync(data.AsMemory(offset, Math.Min(piece, data.Length - offset)), cancellationToken);
        }
    });

    /// <summary>Creates a queued image with disk and container formats set (raw/bare unless overridden); returns its id.</summary>
    public static async Task<string> CreateUploadableAsync(this GlanceClient api, Persona owner, Dictionary<string, object?>? attributes = null)
    {
        var body = new Dictionary<string, object?> { ["disk_format"] = "raw", ["container_format"] = "bare", ["name"] = GlanceClient.Unique("data") };
        foreach (var (key, value) in attributes ?? [])
        {
            body[key] = value;
        }
        return Expect.Str(await api.CreateImageAsync(owner, body), "id");
    }

    /// <summary>PUT /v2/images/{id}/file.</summary>
    public static Task<ApiResponse> UploadAsync(this GlanceClient api, string id, Persona? caller, HttpContent content,
        IReadOnlyDictionary<string, string>? headers = null) =>
        api.SendAsync(HttpMethod.Put, $"/v2/images/{id}/file", caller, content, headers);

    /// <summary>PUT /v2/images/{id}/file with <paramref name="data"/> (Content-Length); asserts 204.</summary>
    public static async Task UploadOkAsync(this GlanceClient api, string id, Persona caller, byte[] data)
    {
        var response = await api.UploadAsync(id, caller, Octets(data));
        Expect.Status(response, 204);
        Assert.Equal("", response.Text);
    }

    /// <summary>GET (or HEAD) /v2/images/{id}/file, body as bytes.</summary>
    public static async Task<Download> DownloadAsync(this GlanceClient api, string id, Persona? caller,
        IReadOnlyDictionary<string, string>? headers = null, HttpMethod? method = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, $"/v2/images/{id}/file") { Content = content };
        caller?.Apply(request);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value), $"header {name}");
        }
        var response = await api.Http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        // Error bodies are text; image bytes are not (and decoding megabytes of them is slow).
        var text = response.Content.Headers.ContentType?.MediaType == OctetStream ? "" : Encoding.UTF8.GetString(bytes);
        return new Download(new ApiResponse(response, text), bytes);
    }

    /// <summary>The image's status.</summary>
    public static async Task<string> StatusAsync(this GlanceClient api, string id, Persona caller) =>
        Expect.Str(await api.ShowImageAsync(id, caller), "status");

    /// <summary>Polls until <paramref name="done"/> holds (or 20 s pass) and returns whether it did.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (await done())
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Polls until the image has <paramref name="status"/>; fails the test otherwise.</summary>
    public static async Task WaitForStatusAsync(this GlanceClient api, string id, Persona caller, string status)
    {
        var last = "";
        Assert.True(await EventuallyAsync(async () => (last = await api.StatusAsync(id, caller)) == status),
            $"image {id} never became {status} (last: {last})");
    }

    /// <summary>Every file of an image in the file store: its blob and any partial file are named after its id.</summary>
    public static string[] FilesOf(string dataDirectory, string id)
    {
        var images = Path.Combine(dataDirectory, "images");
        return Directory.Exists(images) ? Directory.GetFiles(images, $"{Guid.Parse(id):N}*") : [];
    }

    /// <summary>Partial files anywhere in the file store.</summary>
    public static string[] PartialFiles(string dataDirectory)
    {
        var images = Path.Combine(dataDirectory, "images");
        return Directory.Exists(images) ? Directory.GetFiles(images, "*.partial") : [];
    }
}

/// <summary>A download: the response (headers, status) and its body bytes.</summary>
public sealed record Download(ApiResponse Response, byte[] Bytes)
{
    /// <summary>The status code.</summary>
    public int Code => Response.Code;

    /// <summary>A response or content header (values joined), null when absent.</summary>
    public string? Header(string name) => Response.Header(name);
}

/// <summary>A request body of unknown length (so HttpClient sends it chunked), written by a delegate.</summary>
public sealed class StreamingContent : HttpContent
{
    private readonly Func<Stream, CancellationToken, Task> _write;

    /// <summary>A body written by <paramref name="write"/>, as application/octet-stream.</summary>
    public StreamingContent(Func<Stream, CancellationToken, Task> write)
    {
        _write = write;
        Headers.ContentType = new MediaTypeHeaderValue(ImageBytes.OctetStream);
    }

    /// <inheritdoc />
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _write(stream, CancellationToken.None);

    /// <inheritdoc />
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _write(stream, cancellationToken);

    /// <inheritdoc />
    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

/// <summary>
/// An upload the test controls: it sends <c>head</c>, reports that through <see cref="HeadSent"/>,
/// then waits. <see cref="Finish"/> sends the rest; <see cref="Fail"/> makes the body throw,
/// which makes HttpClient drop the connection midway (a client that went away).
/// </summary>
public sealed class GatedUpload
{
    private readonly TaskCompletionSource _headSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>An upload of <paramref name="data"/> pausing after <paramref name="head"/> bytes.</summary>
    public GatedUpload(byte[] data, int head)
    {
        Content = new StreamingContent(async (stream, cancellationToken) =>
        {
            await stream.WriteAsync(data.AsMemory(0, head), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            _headSent.TrySetResult();
            if (!await _gate.Task.WaitAsync(cancellationToken))
            {
                throw new IOException("the test cut the upload off");
            }
            await stream.WriteAsync(data.AsMemory(head), cancellationToken);
        });
    }

    /// <summary>The request body.</summary>
    public StreamingContent Content { get; }

    /// <summary>Completes once the first part has been handed to the connection.</summary>
    public Task HeadSent => _headSent.Task;

    /// <summary>Sends the rest of the body.</summary>
    public void Finish() => _gate.TrySetResult(true);

    /// <summary>Breaks the body off.</summary>
    public void Fail() => _gate.TrySetResult(false);
}

/// <summary>HTTP/1.1 over a bare socket: for requests HttpClient will not send (a body cut off, a body never sent).</summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects to the server.</summary>
    public static async Task<RawHttp> ConnectAsync(Uri server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        return new RawHttp(tcp);
    }

    /// <summary>Sends a request line and headers (identity headers of <paramref name="caller"/> included).</summary>
    public Task SendHeadAsync(string method, string path, Persona caller, params (string Name, string Value)[] headers)
    {
        var text = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        text.Append($"X-Project-Id: {caller.Project}\r\nX-Roles: {caller.Roles}\r\nX-User-Id: {caller.User}\r\nX-Identity-Status: {caller.Status}\r\n");
        foreach (var (name, value) in headers)
        {
            text.Append($"{name}: {value}\r\n");
        }
        text.Append("\r\n");
        return SendAsync(Encoding.ASCII.GetBytes(text.ToString()));
    }

    /// <summary>Sends raw bytes.</summary>
    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads the status line of the response; fails if none comes within <paramref name="timeout"/>.</summary>
    public async Task<int> ReadStatusAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (!Encoding.ASCII.GetString([.. received]).Contains("\r\n"))
        {
            var read = await _stream.ReadAsync(buffer, cancel.Token);
            Assert.True(read > 0, "the server closed the connection without answering");
            received.AddRange(buffer.AsSpan(0, read));
        }
        var line = Encoding.ASCII.GetString([.. received]).Split("\r\n")[0];
        return int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Drops the connection with a reset, as a crashed client would.</summary>
    public void Abort()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Client.Close();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
