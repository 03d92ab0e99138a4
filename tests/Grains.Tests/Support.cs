using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;

namespace Glance.Grains.Tests;

/// <summary>Helpers shared by the grain tests.</summary>
public static class Support
{
    /// <summary>A project id no other test uses, so each test sees only its own images.</summary>
    public static string NewProject(string label = "p") => $"{label}-{Guid.NewGuid():N}";

    /// <summary>Asserts that <paramref name="action"/> throws a <see cref="GlanceException"/> of <paramref name="kind"/>.</summary>
    public static async Task<GlanceException> ThrowsGlance(ErrorKind kind, Func<Task> action)
    {
        var error = await Assert.ThrowsAsync<GlanceException>(action);
        Assert.Equal(kind, error.Kind);
        return error;
    }

    /// <summary>Creates an image with the given draft (empty by default).</summary>
    public static Task<ImageRecord> CreateAsync(this GlanceTestCluster cluster, Caller caller, ImageDraft? draft = null) =>
        cluster.Image(Guid.NewGuid()).CreateAsync(caller, draft ?? ImageDraft.Empty);

    /// <summary>Every page of a list, following markers; fails on a loop or an oversized page.</summary>
    public static async Task<List<ImageRecord>> ListAllAsync(this GlanceTestCluster cluster, Caller caller, ImageQuery query)
    {
        var all = new List<ImageRecord>();
        var marker = query.Marker;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 1000, "pagination does not end");
            var page = await cluster.Catalog.ListAsync(caller, query with { Marker = marker });
            Assert.True(page.Length <= query.Limit, $"page of {page.Length} exceeds limit {query.Limit}");
            all.AddRange(page);
            if (page.Length < query.Limit)
            {
                return all;
            }
            marker = page[^1].Id;
        }
    }

    /// <summary>The ids of one big page (the caller's whole view, for the few images of a test).</summary>
    public static async Task<HashSet<Guid>> ListedIdsAsync(this GlanceTestCluster cluster, Caller caller, ImageQuery? query = null)
    {
        var page = await cluster.Catalog.ListAsync(caller, (query ?? new ImageQuery()) with { Limit = ImageQuery.MaxLimit });
        Assert.True(page.Length < ImageQuery.MaxLimit, "test cluster holds too many images for a one-page view");
        return [.. page.Select(i => i.Id)];
    }

    /// <summary>A value snapshot of a record (records holding immutable collections compare by reference).</summary>
    public static string Snapshot(ImageRecord image) => JsonSerializer.Serialize(image);

    /// <summary>A query matching only images carrying property <paramref name="name"/> = <paramref name="value"/>.</summary>
    public static ImageQuery WithProperty(this ImageQuery query, string name, string value) =>
        query with { Filters = query.Filters.Add(new AttributeFilter(name, FilterOp.Eq, [value])) };
}
