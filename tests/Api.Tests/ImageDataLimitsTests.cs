using System.Globalization;
using System.Text;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>A server of its own with a 1 MiB image size cap and a 1.5 MiB per-owner storage quota.</summary>
public sealed class LimitedServerFixture : IAsyncLifetime
{
    /// <summary>Glance:ImageData:ImageSizeCap.</summary>
    public const int SizeCap = 1024 * 1024;

    /// <summary>Glance:ImageData:UserStorageQuota.</summary>
    public const int Quota = 1024 * 1024 + 512 * 1024;

    private GlanceServer? _server;

    /// <summary>The running server.</summary>
    public GlanceFactory Factory => (_server ?? throw new InvalidOperationException("Server not started")).Factory;

    /// <summary>Its data directory.</summary>
    public string DataDirectory => (_server ?? throw new InvalidOperationException("Server not started")).DataDirectory;

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:ImageData:ImageSizeCap"] = SizeCap.ToString(CultureInfo.InvariantCulture),
            ["Glance:ImageData:UserStorageQuota"] = Quota.ToString(CultureInfo.InvariantCulture),
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Limits and store faults (spec section 6): the size cap and the owner's storage quota give
/// 413, up front when the size is declared and while streaming otherwise (the server stops
/// reading once the limit is passed); a store that cannot write gives a 5xx. Every failed
/// upload leaves the image queued with no size and no file, so a retry works.
/// The tests of this class run one after the other on their own server, each as its own project.
/// </summary>
public sealed class ImageDataLimitsTests(LimitedServerFixture fixture) : IClassFixture<LimitedServerFixture>
{
    private const int MiB = 1024 * 1024;
    private readonly GlanceClient _api = fixture.Factory.Client;
    private readonly Persona _owner = new(GlanceClient.Unique("quota"), "member", "user-q");

    private string[] Files(string id) => FilesOf(fixture.DataDirectory, id);

    private static Dictionary<string, string> Declared(long size) =>
        new() { ["x-openstack-image-size"] = size.ToString(CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Uploads_over_the_size_cap_are_413_before_or_while_reading_and_leave_a_queued_image()
    {
        var tooBig = Bytes(2 * MiB, seed: 20);
        var id = await _api.CreateUploadableAsync(_owner);

        // Known up front (Content-Length, or x-openstack-image-size with any body): refused before reading.
        Expect.Error(await _api.UploadAsync(id, _owner, Octets(tooBig)), 413);
        await AssertQueuedWithoutDataAsync(id);
        Expect.Error(await _api.UploadAsync(id, _owner, Octets([1, 2, 3]), Declared(2 * MiB)), 413);
        await AssertQueuedWithoutDataAsync(id);

        // Unknown (chunked): refused once the cap is passed.
        Expect.Error(await _api.UploadAsync(id, _owner, Chunked(tooBig)), 413);
        await AssertQueuedWithoutDataAsync(id);
        Expect.Error(await _api.UploadAsync(id, _owner, Chunked(Bytes(SizeCapPlus(1)))), 413);
        await AssertQueuedWithoutDataAsync(id);

        // Exactly the cap is fine.
        var cap = Bytes(LimitedServerFixture.SizeCap, seed: 21);
        Expect.Status(await _api.UploadAsync(id, _owner, Chunked(cap)), 204);
        var image = await _api.ShowImageAsync(id, _owner);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(Md5(cap), Expect.Str(image, "checksum"));
        Assert.Single(Files(id));
        Assert.Empty(PartialFiles(fixture.DataDirectory));
    }

    [Fact]
    public async Task A_declared_size_over_the_cap_is_refused_without_reading_the_body()
    {
        var id = await _api.CreateUploadableAsync(_owner);
        // The body never comes: only an answer given before reading it can arrive.
        await using (var connection = await RawHttp.ConnectAsync(fixture.Factory.BaseAddress))
        {
            await connection.SendHeadAsync("PUT", $"/v2/images/{id}/file", _owner,
                ("Content-Type", OctetStream), ("Transfer-Encoding", "chunked"), ("x-openstack-image-size", (2 * MiB).ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(413, await connection.ReadStatusAsync(TimeSpan.FromSeconds(15)));
        }
        await using (var connection = await RawHttp.ConnectAsync(fixture.Factory.BaseAddress))
        {
            await connection.SendHeadAsync("PUT", $"/v2/images/{id}/file", _owner,
                ("Content-Type", OctetStream), ("Content-Length", (5L * 1024 * MiB).ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(413, await connection.ReadStatusAsync(TimeSpan.FromSeconds(15)));
        }
        await AssertQueuedWithoutDataAsync(id);
    }

    [Fact]
    public async Task An_endless_chunked_upload_is_cut_off_soon_after_the_cap()
    {
        var id = await _api.CreateUploadableAsync(_owner);
        const long limit = 64L * MiB;
        await using var connection = await RawHttp.ConnectAsync(fixture.Factory.BaseAddress);
        await connection.SendHeadAsync("PUT", $"/v2/images/{id}/file", _owner, ("Content-Type", OctetStream), ("Transfer-Encoding", "chunked"));
        var chunk = Bytes(64 * 1024, seed: 22);
        var framed = Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n").Concat(chunk).Concat("\r\n"u8.ToArray()).ToArray();
        long sent = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            try
            {
                while (sent < limit && !stop.IsCancellationRequested)
                {
                    await connection.SendAsync(framed);
                    Interlocked.Add(ref sent, chunk.Length);
                }
            }
            catch (IOException)
            {
                // The server closed the connection: it stopped reading.
            }
        });
        var status = await connection.ReadStatusAsync(TimeSpan.FromSeconds(30));
        var sentWhenAnswered = Interlocked.Read(ref sent);
        stop.Cancel();
        connection.Abort();
        await writer.WaitAsync(TimeSpan.FromSeconds(15)).ContinueWith(_ => { });
        Assert.Equal(413, status);
        // The answer came long before the client ran out of data (socket buffers hold a few MiB).
        Assert.True(sentWhenAnswered < limit / 2, $"sent {sentWhenAnswered} bytes before the 413");
        await _api.WaitForStatusAsync(id, _owner, "queued");
        await AssertQueuedWithoutDataAsync(id);
    }

    [Fact]
    public async Task The_owner_storage_quota_counts_every_active_image()
    {
        var first = await _api.CreateUploadableAsync(_owner);
        await _api.UploadOkAsync(first, _owner, Bytes(MiB, seed: 23));
        // 0.5 MiB left.
        var second = await _api.CreateUploadableAsync(_owner);
        Expect.Error(await _api.UploadAsync(second, _owner, Octets(Bytes(MiB))), 413);
        Expect.Error(await _api.UploadAsync(second, _owner, Chunked(Bytes(MiB))), 413);
        await AssertQueuedWithoutDataAsync(second);
        Expect.Error(await _api.UploadAsync(second, _owner, Chunked(Bytes(MiB / 2 + 1))), 413);
        await AssertQueuedWithoutDataAsync(second);
        var half = Bytes(MiB / 2, seed: 24);
        Expect.Status(await _api.UploadAsync(second, _owner, Chunked(half)), 204);
        Assert.Equal(Md5(half), Expect.Str(await _api.ShowImageAsync(second, _owner), "checksum"));

        // Nothing left but an empty image; another project is not affected.
        var third = await _api.CreateUploadableAsync(_owner);
        Expect.Error(await _api.UploadAsync(third, _owner, Chunked([1])), 413);
        await AssertQueuedWithoutDataAsync(third);
        var stranger = new Persona(GlanceClient.Unique("quota"), "member", "user-s");
        var theirs = await _api.CreateUploadableAsync(stranger);
        await _api.UploadOkAsync(theirs, stranger, Bytes(MiB));

        // Deleting an image gives its bytes back.
        Expect.Status(await _api.DeleteAsync($"/v2/images/{first}", _owner), 204);
        Assert.Empty(Files(first));
        await _api.UploadOkAsync(third, _owner, Bytes(MiB, seed: 25));
        Assert.Equal("active", await _api.StatusAsync(third, _owner));
    }

    [Fact]
    public async Task A_store_that_cannot_write_fails_the_upload_with_5xx_and_the_image_stays_queued()
    {
        var id = await _api.CreateUploadableAsync(_owner);
        var images = Path.Combine(fixture.DataDirectory, "images");
        var aside = images + ".aside";
        // The store's directory becomes a plain file: every write fails (root ignores chmod).
        Directory.Move(images, aside);
        await File.WriteAllTextAsync(images, "not a directory");
        try
        {
            foreach (var content in new Func<HttpContent>[] { () => Octets(Bytes(300 * 1024)), () => Chunked(Bytes(300 * 1024)) })
            {
                var failed = await _api.UploadAsync(id, _owner, content());
                Assert.True(failed.Code is >= 500 and < 600, $"expected 5xx, got {failed}");
                var image = await _api.ShowImageAsync(id, _owner);
                Assert.Equal("queued", Expect.Str(image, "status"));
                Assert.Equal(System.Text.Json.JsonValueKind.Null, image.GetProperty("size").ValueKind);
            }
        }
        finally
        {
            File.Delete(images);
            Directory.Move(aside, images);
        }
        await AssertQueuedWithoutDataAsync(id);
        var data = Bytes(300 * 1024, seed: 26);
        await _api.UploadOkAsync(id, _owner, data);
        Assert.Equal(data, (await _api.DownloadAsync(id, _owner)).Bytes);
        Assert.Empty(PartialFiles(fixture.DataDirectory));
    }

    private static int SizeCapPlus(int extra) => LimitedServerFixture.SizeCap + extra;

    private async Task AssertQueuedWithoutDataAsync(string id)
    {
        var image = await _api.ShowImageAsync(id, _owner);
        Assert.Equal("queued", Expect.Str(image, "status"));
        foreach (var attribute in new[] { "size", "virtual_size", "checksum", "os_hash_value" })
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Null, image.GetProperty(attribute).ValueKind);
        }
        Assert.Empty(Files(id));
        Assert.Empty(PartialFiles(fixture.DataDirectory));
        Assert.Equal(204, (await _api.DownloadAsync(id, _owner)).Code);
    }
}
