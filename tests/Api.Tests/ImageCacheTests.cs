using System.Text.Json;
using Glance.Api.Tests.Support;
using Glance.Grains.Extensions.ImageCache;
using Microsoft.Extensions.DependencyInjection;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// The image-cache extension through real HTTP on a real file store: single-flight fills (the
/// store read once for 16 concurrent first downloads), hits that need no store, authorization
/// asked every time (deactivate, delete), md5 verification, ranges from the cached copy, LRU
/// eviction, a restart, and Glance's cache management API; off, nothing of it exists.
/// </summary>
public sealed class ImageCacheTests : IAsyncLifetime
{
    private const int MiB = 1 << 20;
    private static readonly Persona Owner = new("ic-owner", "member", "u-ic-owner");
    private GlanceServer? _server;

    private GlanceServer Server => _server ?? throw new InvalidOperationException("not started");
    private GlanceClient Client => Server.Client;
    private ImageCache Cache => Server.Factory.Services.GetRequiredService<ImageCache>();

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => On());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private static Dictionary<string, string?> On(long? maxSize = null)
    {
        var settings = new Dictionary<string, string?> { ["Glance:Extensions:image-cache:Enabled"] = "true" };
        if (maxSize is { } max)
        {
            settings["Glance:Extensions:image-cache:MaxSize"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return settings;
    }

    private static async Task<string> ActiveImageAsync(GlanceClient client, byte[] data)
    {
        var id = await client.CreateUploadableAsync(Owner);
        await client.UploadOkAsync(id, Owner, data);
        return id;
    }

    private static void DeleteFromStore(string dataDirectory, string id)
    {
        var files = FilesOf(dataDirectory, id);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            File.Delete(file);
        }
    }

    private static async Task<List<JsonElement>> CachedAsync(GlanceClient client)
    {
        var state = Expect.Status(await client.GetAsync("/v2/cache", Persona.Admin), 200).Json;
        Assert.Equal(JsonValueKind.Array, state.GetProperty("queued_images").ValueKind);
        return [.. state.GetProperty("cached_images").EnumerateArray()];
    }

    private static async Task<bool> IsCachedAsync(GlanceClient client, string id) =>
        (await CachedAsync(client)).Any(e => Expect.Str(e, "image_id") == id);

    [Fact]
    public async Task Sixteen_concurrent_first_downloads_read_the_store_once_and_a_hit_needs_no_store()
    {
        var data = Bytes(8 * MiB, seed: 21);
        var id = await ActiveImageAsync(Client, data);
        var before = Cache.StoreReads;

        var downloads = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Client.DownloadAsync(id, Owner)));

        Assert.All(downloads, d => { Assert.Equal(200, d.Code); Assert.Equal(data, d.Bytes); });
        Assert.Equal(1, Cache.StoreReads - before);
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));

        // The blob gone from the store: served from the cache, whole and by range.
        DeleteFromStore(Server.DataDirectory, id);
        var again = await Client.DownloadAsync(id, Owner);
        Assert.Equal(200, again.Code);
        Assert.Equal(data, again.Bytes);
        var range = await Client.DownloadAsync(id, Owner, new Dictionary<string, string> { ["Range"] = "bytes=1000-200999" });
        Assert.Equal(206, range.Code);
        Assert.Equal(data[1000..201000], range.Bytes);
        Assert.Equal($"bytes 1000-200999/{data.Length}", range.Header("Content-Range"));
        Assert.Equal(1, Cache.StoreReads - before);

        var entry = Assert.Single(await CachedAsync(Client), e => Expect.Str(e, "image_id") == id);
        Assert.Equal(data.Length, entry.GetProperty("size").GetInt64());
        Assert.True(entry.GetProperty("hits").GetInt64() >= 2);
        // The hits reach /metrics (process-wide counters: at least this test's two).
        var scrape = new MetricsTests.Scrape(Expect.Status(await Client.GetAsync("/metrics", Persona.Admin), 200).Text);
        Assert.True(scrape.Value("glance_image_cache_lookups_total", "result=\"hit\"") >= 2);
        Assert.True(entry.GetProperty("last_accessed").GetDouble() >= entry.GetProperty("last_modified").GetDouble());
    }

    [Fact]
    public async Task A_stalled_first_download_neither_holds_the_fill_back_nor_misses_bytes()
    {
        // Larger than the socket and pipe buffers of a stalled download together.
        var data = Bytes(48 * MiB, seed: 25);
        var id = await ActiveImageAsync(Client, data);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/images/{id}/file");
        Owner.Apply(request);
        using var response = await Client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var got = new byte[data.Length];
        await body.ReadExactlyAsync(got.AsMemory(0, 1000));

        // While this download reads nothing, the fill reads the whole image and becomes an entry.
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));

        // The stalled download then gets every byte, those it left behind read from the file.
        await body.ReadExactlyAsync(got.AsMemory(1000));
        Assert.Equal(0, await body.ReadAsync(new byte[1]));
        Assert.Equal(data, got);
    }

    [Fact]
    public async Task Authorization_is_asked_every_time_and_delete_purges_the_entry()
    {
        var data = Bytes(MiB, seed: 22);
        var id = await ActiveImageAsync(Client, data);
        Assert.Equal(data, (await Client.DownloadAsync(id, Owner)).Bytes);
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));
        DeleteFromStore(Server.DataDirectory, id);

        // Other projects never see it; deactivated, only an admin reads it (from the cache).
        Expect.Error((await Client.DownloadAsync(id, Persona.P2)).Response, 404);
        Expect.Status(await Client.PostJsonAsync($"/v2/images/{id}/actions/deactivate", Persona.Admin, ""), 204);
        Expect.Error((await Client.DownloadAsync(id, Owner)).Response, 403);
        var admin = await Client.DownloadAsync(id, Persona.Admin);
        Assert.Equal(200, admin.Code);
        Assert.Equal(data, admin.Bytes);

        // The cluster knows this node holds it; deleting the image purges it here and there.
        var nodes = Expect.Status(await Client.GetAsync($"/v2/cache/nodes/{id}", Persona.Admin), 200).Json;
        Assert.Equal(Cache.Node, Assert.Single(nodes.EnumerateArray()).GetString());
        Expect.Status(await Client.DeleteAsync($"/v2/images/{id}", Persona.Admin), 204);
        Assert.False(await IsCachedAsync(Client, id));
        Assert.False(File.Exists(Path.Combine(Cache.Directory, id)));
        Expect.Error((await Client.DownloadAsync(id, Persona.Admin)).Response, 404);
        Expect.Error(await Client.GetAsync($"/v2/cache/nodes/{id}", Persona.Admin), 404);
    }

    [Fact]
    public async Task Another_nodes_delete_reaches_this_node_at_its_sweep()
    {
        var data = Bytes(MiB, seed: 26);
        var id = await ActiveImageAsync(Client, data);
        Assert.Equal(data, (await Client.DownloadAsync(id, Owner)).Bytes);
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));
        // What another node's delete tells the cluster (its own cache it purges itself).
        await Server.Factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IImageCacheNodesGrain>(Guid.Parse(id)).PurgeAsync();
        Assert.True(await IsCachedAsync(Client, id));
        await Cache.SweepAsync(CancellationToken.None);
        Assert.False(await IsCachedAsync(Client, id));
        Assert.False(File.Exists(Path.Combine(Cache.Directory, id)));
    }

    [Fact]
    public async Task Bytes_that_do_not_match_the_checksum_are_never_cached_or_served_whole()
    {
        var data = Bytes(2 * MiB, seed: 23);
        var id = await ActiveImageAsync(Client, data);
        // Corrupt the stored blob behind the service's back: same size, other bytes.
        var blob = Assert.Single(FilesOf(Server.DataDirectory, id));
        var corrupt = Bytes(2 * MiB, seed: 24);
        File.WriteAllBytes(blob, corrupt);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            byte[]? got = null;
            try
            {
                var download = await Client.DownloadAsync(id, Owner);
                got = download.Bytes;
            }
            catch (HttpRequestException)
            {
                // The response was aborted: what a client must see for bytes that failed verification.
            }
            Assert.True(got is null || got.Length < corrupt.Length, "a download completed with unverified bytes");
        }
        Assert.False(await IsCachedAsync(Client, id));
        Assert.Empty(Directory.GetFiles(Cache.Directory, $"{id}*"));
    }

    [Fact]
    public async Task The_cache_api_answers_in_glances_shapes_for_admins_only()
    {
        var data = Bytes(MiB, seed: 25);
        var id = await ActiveImageAsync(Client, data);
        var queued = await Client.CreateUploadableAsync(Owner);

        foreach (var (method, path) in new[] { ("GET", "/v2/cache"), ("PUT", $"/v2/cache/{id}"), ("DELETE", $"/v2/cache/{id}"), ("DELETE", "/v2/cache"),
            ("POST", "/v2/cache/clean"), ("POST", "/v2/cache/prune"), ("GET", $"/v2/cache/nodes/{id}") })
        {
            Expect.Error(await Client.SendAsync(new HttpMethod(method), path, Owner), 403);
        }
        Expect.Error(await Client.PutAsync($"/v2/cache/{queued}", Persona.Admin), 400);
        Expect.Error(await Client.PutAsync($"/v2/cache/{Guid.NewGuid()}", Persona.Admin), 404);
        Expect.Error(await Client.PutAsync("/v2/cache/not-a-uuid", Persona.Admin), 404);
        Expect.Error(await Client.DeleteAsync($"/v2/cache/{Guid.NewGuid()}", Persona.Admin), 404);
        Expect.Error(await Client.GetAsync("/v2/cache/nodes/not-a-uuid", Persona.Admin), 404);
        Expect.Error(await Client.SendAsync(HttpMethod.Delete, "/v2/cache", Persona.Admin, null, new Dictionary<string, string> { ["x-image-cache-clear-target"] = "both" }), 400);

        // PUT caches it now, in the background, from the store.
        var queue = Expect.Status(await Client.PutAsync($"/v2/cache/{id}", Persona.Admin), 202);
        Assert.Equal("", queue.Text);
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));
        Assert.Equal(JsonValueKind.Array, Expect.Status(await Client.GetAsync($"/v2/cache/nodes/{id}", Persona.Admin), 200).Json.ValueKind);

        var prune = Expect.Status(await Client.SendAsync(HttpMethod.Post, "/v2/cache/prune", Persona.Admin), 200).Json;
        Assert.Equal(0, prune.GetProperty("total_files_pruned").GetInt32());
        Assert.Equal(0, prune.GetProperty("total_bytes_pruned").GetInt64());
        Expect.Status(await Client.SendAsync(HttpMethod.Post, "/v2/cache/clean", Persona.Admin), 200);
        Assert.True(await IsCachedAsync(Client, id));

        Expect.Status(await Client.SendAsync(HttpMethod.Delete, "/v2/cache", Persona.Admin, null, new Dictionary<string, string> { ["x-image-cache-clear-target"] = "queue" }), 204);
        Assert.True(await IsCachedAsync(Client, id));
        Expect.Status(await Client.DeleteAsync($"/v2/cache/{id}", Persona.Admin), 204);
        Assert.False(await IsCachedAsync(Client, id));
        Expect.Status(await Client.PutAsync($"/v2/cache/{id}", Persona.Admin), 202);
        Assert.True(await EventuallyAsync(() => IsCachedAsync(Client, id)));
        Expect.Status(await Client.DeleteAsync("/v2/cache", Persona.Admin), 204);
        Assert.Empty(await CachedAsync(Client));
        Assert.Equal(data, (await Client.DownloadAsync(id, Owner)).Bytes);

        var listed = Expect.Status(await Client.GetAsync("/v2/extensions/image-cache", Owner), 200).Json.GetProperty("extension");
        Assert.Equal("transparent", Expect.Str(listed, "kind"));

        // The versions document lists the versions that carry the cache API.
        var versions = Expect.Status(await Client.GetAsync("/versions", null), 200).Json.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal("v2.18", Expect.Str(Assert.Single(versions, v => Expect.Str(v, "status") == "CURRENT"), "id"));
        Assert.Contains(versions, v => Expect.Str(v, "id") == "v2.14");
    }

    [Fact]
    public async Task A_small_cache_evicts_the_least_recently_used_and_survives_a_restart()
    {
        using var directory = new TempDirectory();
        var settings = On(maxSize: 5 * MiB / 2);
        var (a, b, c) = (Bytes(MiB, seed: 31), Bytes(MiB, seed: 32), Bytes(MiB, seed: 33));
        string idA, idB, idC;
        await using (var first = new GlanceFactory(directory.Path, settings).Start())
        {
            var client = first.Client;
            (idA, idB, idC) = (await ActiveImageAsync(client, a), await ActiveImageAsync(client, b), await ActiveImageAsync(client, c));
            Assert.Equal(a, (await client.DownloadAsync(idA, Owner)).Bytes);
            Assert.True(await EventuallyAsync(() => IsCachedAsync(client, idA)));
            Assert.Equal(b, (await client.DownloadAsync(idB, Owner)).Bytes);
            Assert.True(await EventuallyAsync(() => IsCachedAsync(client, idB)));
            Assert.Equal(a, (await client.DownloadAsync(idA, Owner)).Bytes); // A is now the most recent
            Assert.Equal(c, (await client.DownloadAsync(idC, Owner)).Bytes);
            Assert.True(await EventuallyAsync(() => IsCachedAsync(client, idC)));
            var cached = (await CachedAsync(client)).Select(e => Expect.Str(e, "image_id")).ToHashSet();
            Assert.Equal(new[] { idA, idC }.Order(), cached.Order());
            Assert.True(first.Services.GetRequiredService<ImageCache>().Used <= 5 * MiB / 2);
        }
        // A partial fill left by a crash never becomes an entry.
        var cacheDirectory = Path.Combine(directory.Path, "image-cache");
        File.WriteAllBytes(Path.Combine(cacheDirectory, $"{Guid.NewGuid():N}.{Guid.NewGuid():N}.tmp"), [1, 2, 3]);

        await using (var second = new GlanceFactory(directory.Path, settings).Start())
        {
            var client = second.Client;
            Assert.Equal(new[] { idA, idC }.Order(), (await CachedAsync(client)).Select(e => Expect.Str(e, "image_id")).Order());
            Assert.Empty(Directory.GetFiles(cacheDirectory, "*.tmp"));
            DeleteFromStore(directory.Path, idA);
            Assert.Equal(a, (await client.DownloadAsync(idA, Owner)).Bytes);
            var range = await client.DownloadAsync(idA, Owner, new Dictionary<string, string> { ["Range"] = "bytes=-100" });
            Assert.Equal(206, range.Code);
            Assert.Equal(a[^100..], range.Bytes);
            Assert.Equal(0, second.Services.GetRequiredService<ImageCache>().StoreReads);
        }
    }
}

/// <summary>The image-cache extension off (the embedded default): no cache API, downloads straight from the store.</summary>
public sealed class ImageCacheOffTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Off_the_cache_api_is_404_and_downloads_use_the_store()
    {
        var client = fixture.Client;
        Assert.Null(fixture.Factory.Services.GetService<ImageCache>());
        foreach (var (method, path) in new[] { ("GET", "/v2/cache"), ("PUT", $"/v2/cache/{Guid.NewGuid()}"), ("DELETE", "/v2/cache"), ("POST", "/v2/cache/prune"), ("GET", $"/v2/cache/nodes/{Guid.NewGuid()}") })
        {
            Assert.Equal(404, (await client.SendAsync(new HttpMethod(method), path, Persona.Admin)).Code);
        }
        var listed = Expect.Status(await client.GetAsync("/v2/extensions", Persona.P1), 200).Json.GetProperty("extensions").EnumerateArray();
        Assert.DoesNotContain(listed, e => Expect.Str(e, "alias") == "image-cache");
        var current = Assert.Single(Expect.Status(await client.GetAsync("/versions", null), 200).Json.GetProperty("versions").EnumerateArray(), v => Expect.Str(v, "status") == "CURRENT");
        Assert.Equal("v2.16", Expect.Str(current, "id"));
    }
}
