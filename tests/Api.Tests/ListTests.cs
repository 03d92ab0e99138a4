using System.Globalization;
using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>GET /v2/images: pagination, sorting and filters (spec section 4).</summary>
[Collection(ApiCollection.Name)]
public sealed class ListTests(ApiFixture fixture)
{
    private const int LargeSetSize = 1001;

    private readonly GlanceClient _api = fixture.Client;

    /// <summary>An image as listed: id and created_at, for checking the default order.</summary>
    private sealed record Listed(string Id, DateTimeOffset CreatedAt);

    private sealed record LargeSet(string Suite, List<Listed> NewestFirst);

    /// <summary>
    /// 1001 images of p1 sharing one suite property (more than the 1000 cap), created once for
    /// the tests that need it, in Glance's default order: created_at desc, id desc.
    /// </summary>
    private Task<LargeSet> LargeSetAsync() => fixture.SharedAsync("list-large-set", async () =>
    {
        var suite = GlanceClient.Unique("large");
        var created = new System.Collections.Concurrent.ConcurrentBag<Listed>();
        await Parallel.ForEachAsync(Enumerable.Range(0, LargeSetSize), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var image = await _api.CreateImageAsync(Persona.P1, new { suite, name = $"large-{i:D4}" });
            created.Add(new Listed(Expect.Str(image, "id"), Timestamp(image)));
        });
        var ordered = created.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id, StringComparer.Ordinal).ToList();
        return new LargeSet(suite, ordered);
    });

    /// <summary>Small images of p1 with one suite property; returns the suite and the ids in creation order.</summary>
    private async Task<(string Suite, List<string> Ids)> SmallSetAsync(params object[] extra)
    {
        var suite = GlanceClient.Unique("small");
        var ids = new List<string>();
        foreach (var attributes in extra)
        {
            var body = JsonSerializer.SerializeToNode(attributes)!.AsObject();
            body["suite"] = suite;
            var response = Expect.Status(await _api.PostJsonAsync("/v2/images", Persona.P1, body.ToJsonString()), 201);
            ids.Add(Expect.Str(response.Json, "id"));
        }
        return (suite, ids);
    }

    private static DateTimeOffset Timestamp(JsonElement image) =>
        DateTimeOffset.Parse(Expect.Str(image, "created_at"), CultureInfo.InvariantCulture);

    // ---- pagination ------------------------------------------------------------------------

    [Fact]
    public async Task Default_page_is_25_with_first_and_next_links()
    {
        var set = await LargeSetAsync();

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={set.Suite}", Persona.P1), 200).Json;

        var ids = GlanceClient.Ids(page);
        Assert.Equal(set.NewestFirst.Take(25).Select(i => i.Id), ids);
        Assert.Equal($"/v2/images?suite={set.Suite}", Expect.Str(page, "first"));
        Assert.Equal($"/v2/images?suite={set.Suite}&marker={ids[^1]}", Expect.Str(page, "next"));
        Assert.Equal("/v2/schemas/images", Expect.Str(page, "schema"));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(5000)]
    public async Task Limit_is_capped_at_1000(int limit)
    {
        var set = await LargeSetAsync();

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={set.Suite}&limit={limit}", Persona.P1), 200).Json;

        var ids = GlanceClient.Ids(page);
        Assert.Equal(set.NewestFirst.Take(1000).Select(i => i.Id), ids);
        Assert.Equal($"/v2/images?suite={set.Suite}&limit={limit}&marker={ids[^1]}", Expect.Str(page, "next"));
    }

    [Fact]
    public async Task Following_next_links_visits_every_image_once_in_order()
    {
        var set = await LargeSetAsync();
        var seen = new List<string>();
        var pageSizes = new List<int>();
        string? next = $"/v2/images?suite={set.Suite}&limit=300";

        while (next is not null)
        {
            Assert.True(pageSizes.Count < 10, "pagination does not end");
            var page = Expect.Status(await _api.GetAsync(next, Persona.P1), 200).Json;
            var ids = GlanceClient.Ids(page);
            seen.AddRange(ids);
            pageSizes.Add(ids.Count);
            Assert.Equal($"/v2/images?suite={set.Suite}&limit=300", Expect.Str(page, "first"));
            next = page.TryGetProperty("next", out var link) ? link.GetString() : null;
            Assert.Equal(ids.Count == 300, next is not null);
        }

        Assert.Equal([300, 300, 300, 101], pageSizes);
        Assert.Equal(set.NewestFirst.Select(i => i.Id), seen);
    }

    [Fact]
    public async Task Next_is_present_iff_the_page_is_full()
    {
        var (suite, created) = await SmallSetAsync(new { name = "a" }, new { name = "b" }, new { name = "c" }, new { name = "d" });

        var first = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&limit=2", Persona.P1), 200).Json;
        var second = Expect.Status(await _api.GetAsync(Expect.Str(first, "next"), Persona.P1), 200).Json;
        var third = Expect.Status(await _api.GetAsync(Expect.Str(second, "next"), Persona.P1), 200).Json;
        var whole = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&limit=5", Persona.P1), 200).Json;

        Assert.Equal(2, GlanceClient.Ids(first).Count);
        Assert.Equal(2, GlanceClient.Ids(second).Count);
        Assert.Empty(GlanceClient.Ids(third));
        Assert.False(third.TryGetProperty("next", out _));
        Assert.Equal(created.Order(), GlanceClient.Ids(first).Concat(GlanceClient.Ids(second)).Order());
        Assert.Equal(4, GlanceClient.Ids(whole).Count);
        Assert.False(whole.TryGetProperty("next", out _));
    }

    [Fact]
    public async Task Limit_zero_is_an_empty_page_without_next()
    {
        var (suite, _) = await SmallSetAsync(new { name = "a" });

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&limit=0", Persona.P1), 200).Json;

        Assert.Empty(GlanceClient.Ids(page));
        Assert.False(page.TryGetProperty("next", out _));
    }

    [Theory]
    [InlineData("limit=-1")]
    [InlineData("limit=abc")]
    [InlineData("limit=1.5")]
    [InlineData("limit=")]
    public async Task Bad_limit_is_400(string query)
    {
        Expect.Error(await _api.GetAsync($"/v2/images?{query}", Persona.P1), 400);
    }

    [Fact]
    public async Task Unknown_or_invisible_marker_is_400()
    {
        var hidden = Expect.Str(await _api.CreateImageAsync(Persona.P2, new { visibility = "private" }), "id");

        Expect.Error(await _api.GetAsync($"/v2/images?marker={Guid.NewGuid()}", Persona.P1), 400);
        Expect.Error(await _api.GetAsync("/v2/images?marker=abc", Persona.P1), 400);
        Expect.Error(await _api.GetAsync($"/v2/images?marker={hidden}", Persona.P1), 400);
        Expect.Status(await _api.GetAsync($"/v2/images?marker={hidden}", Persona.P2), 200);
    }

    // ---- sorting ---------------------------------------------------------------------------

    [Theory]
    [InlineData("sort_key=name&sort_dir=asc", "a,b,c")]
    [InlineData("sort_key=name&sort_dir=desc", "c,b,a")]
    [InlineData("sort_key=name", "c,b,a")]
    [InlineData("sort=name:asc", "a,b,c")]
    [InlineData("sort=name:desc", "c,b,a")]
    [InlineData("sort=name", "c,b,a")]
    [InlineData("sort=status:asc,name:asc", "a,b,c")]
    [InlineData("sort_key=status&sort_key=name&sort_dir=asc&sort_dir=asc", "a,b,c")]
    [InlineData("sort_key=disk_format&sort_dir=asc", "b,c,a")]
    public async Task Sorting_orders_the_page(string sort, string expectedNames)
    {
        var (suite, _) = await SmallSetAsync(
            new { name = "b", disk_format = "iso" }, new { name = "a", disk_format = "raw" }, new { name = "c", disk_format = "qcow2" });

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&{sort}", Persona.P1), 200).Json;

        var names = page.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("name").GetString());
        Assert.Equal(expectedNames, string.Join(",", names));
    }

    [Theory]
    [InlineData("sort_key=foo")]
    [InlineData("sort_key=owner")]
    [InlineData("sort=foo:asc")]
    [InlineData("sort_dir=up")]
    [InlineData("sort_key=name&sort_dir=up")]
    [InlineData("sort=name:up")]
    [InlineData("sort=name:asc&sort_key=name")]
    [InlineData("sort=name:asc&sort_dir=asc")]
    [InlineData("sort_key=name&sort_key=status&sort_key=id&sort_dir=asc&sort_dir=desc")]
    public async Task Bad_sorting_is_400(string sort)
    {
        Expect.Error(await _api.GetAsync($"/v2/images?{sort}", Persona.P1), 400);
    }

    // ---- filters ---------------------------------------------------------------------------

    private async Task<(string Suite, string Alpha, string Beta, string Hidden, string Raw)> FilterSetAsync()
    {
        var unique = Guid.NewGuid().ToString("N")[..8];
        var (suite, ids) = await SmallSetAsync(
            new { name = $"alpha-{unique}", tags = new[] { "t1", "t2" }, os_distro = "ubuntu", @protected = true },
            new { name = $"beta-{unique}", tags = new[] { "t1" }, os_distro = "fedora" },
            new { name = $"gamma-{unique}", tags = new[] { "t1", "t2" }, os_hidden = true },
            new { name = $"delta-{unique}", disk_format = "raw", container_format = "bare" });
        return (suite, ids[0], ids[1], ids[2], ids[3]);
    }

    private async Task<List<string>> FilterAsync(string suite, string query) =>
        [.. (await _api.ListIdsAsync(Persona.P1, $"suite={suite}&{query}")).Order()];

    [Fact]
    public async Task Filters_on_name_tags_properties_and_formats()
    {
        var (suite, alpha, beta, _, raw) = await FilterSetAsync();
        var alphaName = Expect.Str(await _api.ShowImageAsync(alpha, Persona.P1), "name");
        var betaName = Expect.Str(await _api.ShowImageAsync(beta, Persona.P1), "name");

        Assert.Equal([alpha], await FilterAsync(suite, $"name={alphaName}"));
        Assert.Equal(new[] { alpha, beta }.Order(), await FilterAsync(suite, $"name=in:{alphaName},{betaName}"));
        Assert.Equal(new[] { alpha, beta }.Order(), await FilterAsync(suite, $"name=in:%22{alphaName}%22,%22{betaName}%22"));
        Assert.Equal([alpha], await FilterAsync(suite, $"name=eq:{alphaName}"));
        Assert.Equal(new[] { beta, raw }.Order(), await FilterAsync(suite, $"name=neq:{alphaName}"));
        Assert.Equal(new[] { alpha, beta }.Order(), await FilterAsync(suite, "tag=t1"));
        Assert.Equal([alpha], await FilterAsync(suite, "tag=t1&tag=t2"));
        Assert.Empty(await FilterAsync(suite, "tag=t1&tag=absent"));
        Assert.Equal([alpha], await FilterAsync(suite, "os_distro=ubuntu"));
        Assert.Empty(await FilterAsync(suite, "os_distro=debian"));
        Assert.Equal([raw], await FilterAsync(suite, "disk_format=raw"));
        Assert.Equal([raw], await FilterAsync(suite, "container_format=bare&disk_format=raw"));
        Assert.Equal(new[] { alpha, beta, raw }.Order(), await FilterAsync(suite, "status=queued"));
        Assert.Equal(new[] { alpha, beta, raw }.Order(), await FilterAsync(suite, "status=in:active,queued"));
        Assert.Equal([alpha], await FilterAsync(suite, $"id={alpha}"));
        Assert.Equal(new[] { alpha, beta, raw }.Order(), await FilterAsync(suite, "owner=p1"));
    }

    [Fact]
    public async Task Unknown_status_matches_nothing_with_200()
    {
        var (suite, _, _, _, _) = await FilterSetAsync();

        var page = Expect.Status(await _api.GetAsync($"/v2/images?suite={suite}&status=bogus", Persona.P1), 200).Json;

        Assert.Empty(GlanceClient.Ids(page));
    }

    [Fact]
    public async Task Hidden_images_are_excluded_by_default_and_os_hidden_true_lists_only_them()
    {
        var (suite, alpha, beta, hidden, raw) = await FilterSetAsync();

        Assert.Equal(new[] { alpha, beta, raw }.Order(), await FilterAsync(suite, ""));
        Assert.Equal(new[] { alpha, beta, raw }.Order(), await FilterAsync(suite, "os_hidden=false"));
        Assert.Equal([hidden], await FilterAsync(suite, "os_hidden=true"));
        await _api.ShowImageAsync(hidden, Persona.P1);
        Expect.Error(await _api.GetAsync($"/v2/images?suite={suite}&os_hidden=yes", Persona.P1), 400);
    }

    [Fact]
    public async Task Protected_filter_takes_lowercase_true_or_false_only()
    {
        var (suite, alpha, beta, _, raw) = await FilterSetAsync();

        Assert.Equal([alpha], await FilterAsync(suite, "protected=true"));
        Assert.Equal(new[] { beta, raw }.Order(), await FilterAsync(suite, "protected=false"));
        Expect.Error(await _api.GetAsync($"/v2/images?suite={suite}&protected=maybe", Persona.P1), 400);
        Expect.Error(await _api.GetAsync($"/v2/images?suite={suite}&protected=True", Persona.P1), 400);
    }

    [Fact]
    public async Task Time_filters_compare_created_at()
    {
        var (suite, alpha, beta, _, raw) = await FilterSetAsync();
        var all = new[] { alpha, beta, raw }.Order().ToList();

        Assert.Equal(all, await FilterAsync(suite, "created_at=gt:2000-01-01T00:00:00Z"));
        Assert.Empty(await FilterAsync(suite, "created_at=gt:2999-01-01T00:00:00Z"));
        Assert.Equal(all, await FilterAsync(suite, "created_at=lte:2999-01-01T00:00:00Z"));
        Assert.Equal(all, await FilterAsync(suite, "updated_at=gte:2000-01-01T00:00:00Z"));
        var created = Expect.Str(await _api.ShowImageAsync(alpha, Persona.P1), "created_at");
        Assert.Contains(alpha, await FilterAsync(suite, $"created_at=gte:{created}"));
        Assert.DoesNotContain(alpha, await FilterAsync(suite, $"created_at=lt:{created}"));
    }

    [Theory]
    [InlineData("created_at=notadate")]
    [InlineData("created_at=gt:notadate")]
    [InlineData("created_at=foo:2020-01-01T00:00:00Z")]
    [InlineData("updated_at=lt:yesterday")]
    [InlineData("size_min=abc")]
    [InlineData("size_max=1.5")]
    [InlineData("visibility=bogus")]
    [InlineData("member_status=bogus")]
    [InlineData("changes-since=2020-01-01T00:00:00Z")]
    [InlineData("name=a:b")]
    [InlineData("name=in:%22unterminated")]
    [InlineData("min_ram=gt:abc")]
    public async Task Bad_filters_are_400(string query)
    {
        Expect.Error(await _api.GetAsync($"/v2/images?{query}", Persona.P1), 400);
    }

    [Fact]
    public async Task Size_filters_leave_out_images_without_data()
    {
        var (suite, _, _, _, _) = await FilterSetAsync();

        Assert.Empty(await FilterAsync(suite, "size_min=0"));
        Assert.Empty(await FilterAsync(suite, "size_max=1000000"));
    }
}
