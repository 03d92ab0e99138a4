using System.Text.Json;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// The quotas extension through real HTTP: Glance's unified-limits keys from configuration (one
/// limit for every project, an override for one), 413 naming the limit, usage at
/// <c>/v2/info/usage</c> in Glance's shape, and exactness under many concurrent writers.
/// </summary>
public sealed class QuotasTests : IAsyncLifetime
{
    private const int MiB = 1 << 20;
    private static readonly Persona Counted = new("q-count", "member", "u-count");
    private static readonly Persona Overridden = new("q-override", "member", "u-override");
    private static readonly Persona Sized = new("q-size", "member", "u-size");
    private static readonly Persona Staging = new("q-stage", "member", "u-stage");
    private GlanceServer? _server;

    private GlanceClient Client => (_server ?? throw new InvalidOperationException("not started")).Client;

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Extensions:quotas:Limits:image_count_total"] = "5",
            ["Glance:Extensions:quotas:Projects:q-override:image_count_total"] = "2",
            ["Glance:Extensions:quotas:Projects:q-size:image_count_total"] = "-1",
            ["Glance:Extensions:quotas:Projects:q-size:image_size_total"] = "2",
            ["Glance:Extensions:quotas:Projects:q-stage:image_count_uploading"] = "1",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Twenty_concurrent_creates_never_pass_the_image_count_limit()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Client.PostJsonAsync("/v2/images", Counted, GlanceClient.Json(new { name = $"q-{i}" }))));
        Assert.Equal(5, answers.Count(a => (int)a.Status == 201));
        var refused = answers.Where(a => (int)a.Status != 201).ToList();
        Assert.Equal(15, refused.Count);
        Assert.All(refused, r => Assert.Contains("image_count_total", Expect.Error(r, 413).Text));
        Assert.Equal((5, 5), await UsageAsync(Counted, "image_count_total"));

        // The override for one project, and room again after a delete.
        Expect.Status(await Client.PostJsonAsync("/v2/images", Overridden, "{}"), 201);
        var second = Expect.Str(JsonDocument.Parse(Expect.Status(await Client.PostJsonAsync("/v2/images", Overridden, "{}"), 201).Text).RootElement, "id");
        Expect.Error(await Client.PostJsonAsync("/v2/images", Overridden, "{}"), 413);
        Expect.Status(await Client.DeleteAsync($"/v2/images/{second}", Overridden), 204);
        Expect.Status(await Client.PostJsonAsync("/v2/images", Overridden, "{}"), 201);
    }

    [Fact]
    public async Task Concurrent_uploads_never_store_more_than_the_size_limit()
    {
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await Client.CreateUploadableAsync(Sized));
        }
        var data = Bytes(MiB - 1000, seed: 9);
        // Half declare their size (Content-Length), half stream it chunked (size unknown up front).
        var answers = await Task.WhenAll(ids.Select((id, i) => Client.UploadAsync(id, Sized, i % 2 == 0 ? Octets(data) : Chunked(data))));
        Assert.All(answers.Where(a => (int)a.Status != 204), a => Expect.Error(a, 413));
        var active = 0;
        foreach (var id in ids)
        {
            active += await Client.StatusAsync(id, Sized) == "active" ? 1 : 0;
        }
        Assert.InRange(active, 1, 2);
        Assert.Equal(active, answers.Count(a => (int)a.Status == 204));
        var (limit, usage) = await UsageAsync(Sized, "image_size_total");
        Assert.Equal(2, limit);
        Assert.True(usage <= 2, $"usage {usage} MiB");

        // Sequentially, the second 1 MiB fits once nothing else is in flight.
        foreach (var id in ids.Where(id => Client.StatusAsync(id, Sized).Result == "queued").Take(2 - active))
        {
            Expect.Status(await Client.UploadAsync(id, Sized, Octets(data)), 204);
        }
        var full = ids.First(id => Client.StatusAsync(id, Sized).Result == "queued");
        Assert.Contains("image_size_total", Expect.Error(await Client.UploadAsync(full, Sized, Octets(data)), 413).Text);
    }

    [Fact]
    public async Task Uploads_in_progress_are_limited_and_usage_has_glances_shape()
    {
        var first = await Client.CreateUploadableAsync(Staging);
        var second = await Client.CreateUploadableAsync(Staging);
        Expect.Status(await Client.StageAsync(first, Staging, Octets(Bytes(1000, seed: 1))), 204);
        // A staged image counts as in upload until it is imported.
        Assert.Contains("image_count_uploading", Expect.Error(await Client.StageAsync(second, Staging, Octets(Bytes(1000, seed: 2))), 413).Text);
        Expect.Status(await Client.ImportAsync(first, Staging, """{"method": {"name": "glance-direct"}}"""), 202);
        await Client.WaitForStatusAsync(first, Staging, "active");
        Expect.Status(await Client.StageAsync(second, Staging, Octets(Bytes(1000, seed: 2))), 204);

        using var usage = JsonDocument.Parse(Expect.Status(await Client.GetAsync("/v2/info/usage", Staging), 200).Text);
        var keys = usage.RootElement.GetProperty("usage").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["image_size_total", "image_stage_total", "image_count_total", "image_count_uploading"], keys);
        Assert.Equal(1, usage.RootElement.GetProperty("usage").GetProperty("image_count_uploading").GetProperty("limit").GetInt64());
        Assert.Equal(-1, usage.RootElement.GetProperty("usage").GetProperty("image_size_total").GetProperty("limit").GetInt64());
        Assert.Equal(2, usage.RootElement.GetProperty("usage").GetProperty("image_count_total").GetProperty("usage").GetInt64());
    }

    private async Task<(long Limit, long Usage)> UsageAsync(Persona caller, string key)
    {
        using var usage = JsonDocument.Parse(Expect.Status(await Client.GetAsync("/v2/info/usage", caller), 200).Text);
        var entry = usage.RootElement.GetProperty("usage").GetProperty(key);
        return (entry.GetProperty("limit").GetInt64(), entry.GetProperty("usage").GetInt64());
    }
}
