using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>GET /v2/images: order, pages, markers and filters (spec section 4).</summary>
[Collection(ClusterCollection.Name)]
public sealed class ListingTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    /// <summary>Glance's default order, computed independently of the product's comparer.</summary>
    private static List<ImageRecord> NewestFirst(IEnumerable<ImageRecord> images) =>
        [.. images.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id.ToString(), StringComparer.Ordinal)];

    /// <summary>Creates images owned by one project, each tagged with a property unique to the test.</summary>
    private async Task<(Caller Owner, string Suite, List<ImageRecord> Images)> CreateSuiteAsync(params ImageDraft[] drafts)
    {
        var owner = Caller.Member(NewProject());
        var suite = Guid.NewGuid().ToString("N");
        var images = new List<ImageRecord>();
        foreach (var draft in drafts)
        {
            images.Add(await _cluster.CreateAsync(owner, draft.With("suite", suite)));
        }
        return (owner, suite, images);
    }

    private static ImageDraft[] Named(params string?[] names) => [.. names.Select(n => ImageDraft.Empty.With("name", n))];

    private static Guid[] Ids(IEnumerable<ImageRecord> images) => [.. images.Select(i => i.Id)];

    [Fact]
    public async Task The_default_order_is_newest_first_with_id_descending_between_equal_times()
    {
        var (owner, suite, images) = await CreateSuiteAsync(Named("a", "b", "c", "d", "e", "f"));

        var listed = await _cluster.Catalog.ListAsync(owner, new ImageQuery().WithProperty("suite", suite));

        Assert.Equal(Ids(NewestFirst(images)), Ids(listed));
    }

    [Fact]
    public async Task Sorting_by_name_ascending_puts_nulls_first_and_breaks_ties_oldest_first()
    {
        var (owner, suite, images) = await CreateSuiteAsync(Named("delta", "alpha", null, "Charlie", "bravo", "alpha", "alpha"));

        var listed = await _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Sort = [new SortCriterion(SortKey.Name, Descending: false)] }.WithProperty("suite", suite));

        // A lone sort direction applies to Glance's created_at/id tie-breakers too.
        var expected = images
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .ThenBy(i => i.CreatedAt)
            .ThenBy(i => i.Id.ToString(), StringComparer.Ordinal);
        Assert.Equal(Ids(expected), Ids(listed));
        Assert.Equal([null, "Charlie", "alpha", "alpha", "alpha", "bravo", "delta"], listed.Select(i => i.Name));
    }

    [Fact]
    public async Task Sorting_by_name_descending_puts_nulls_last()
    {
        var (owner, suite, images) = await CreateSuiteAsync(Named("b", null, "a", "c", "b"));

        var listed = await _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Sort = [new SortCriterion(SortKey.Name, Descending: true)] }.WithProperty("suite", suite));

        var expected = images
            .OrderByDescending(i => i.Name, StringComparer.Ordinal)
            .ThenByDescending(i => i.CreatedAt)
            .ThenByDescending(i => i.Id.ToString(), StringComparer.Ordinal);
        Assert.Equal(Ids(expected), Ids(listed));
        Assert.Null(listed[^1].Name);
    }

    [Fact]
    public async Task Sorting_by_several_keys_applies_them_in_order()
    {
        var (owner, suite, _) = await CreateSuiteAsync(
            ImageDraft.Empty.With("disk_format", "raw").With("name", "x"),
            ImageDraft.Empty.With("disk_format", "qcow2").With("name", "a"),
            ImageDraft.Empty.With("disk_format", "raw").With("name", "z"),
            ImageDraft.Empty.With("disk_format", "qcow2").With("name", "b"),
            ImageDraft.Empty.With("name", "m"));

        var listed = await _cluster.Catalog.ListAsync(owner, new ImageQuery
        {
            Sort = [new SortCriterion(SortKey.DiskFormat, false), new SortCriterion(SortKey.Name, true)],
        }.WithProperty("suite", suite));

        Assert.Equal(["m", "b", "a", "z", "x"], listed.Select(i => i.Name));
    }

    [Fact]
    public async Task Sorting_by_size_or_id_gives_a_total_order()
    {
        var (owner, suite, images) = await CreateSuiteAsync(Named("a", "b", "c", "d"));

        // No image has data yet, so every size is null and the tie-breakers decide.
        var bySize = await _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Sort = [new SortCriterion(SortKey.Size, true)] }.WithProperty("suite", suite));
        var byId = await _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Sort = [new SortCriterion(SortKey.Id, false)] }.WithProperty("suite", suite));

        Assert.Equal(Ids(NewestFirst(images)), Ids(bySize));
        Assert.Equal(images.Select(i => i.Id.ToString()).Order(StringComparer.Ordinal), byId.Select(i => i.Id.ToString()));
    }

    [Fact]
    public async Task Limit_caps_the_page_and_zero_gives_an_empty_page()
    {
        var (owner, suite, images) = await CreateSuiteAsync(Named("a", "b", "c", "d", "e"));
        var query = new ImageQuery().WithProperty("suite", suite);

        Assert.Equal(Ids(NewestFirst(images).Take(3)), Ids(await _cluster.Catalog.ListAsync(owner, query with { Limit = 3 })));
        Assert.Equal(Ids(NewestFirst(images).Take(1)), Ids(await _cluster.Catalog.ListAsync(owner, query with { Limit = 1 })));
        Assert.Empty(await _cluster.Catalog.ListAsync(owner, query with { Limit = 0 }));
        Assert.Equal(5, (await _cluster.Catalog.ListAsync(owner, query with { Limit = 5000 })).Length);
    }

    public static TheoryData<string> SortsUnderTest() => ["default", "name:asc", "name:desc,id:asc", "created_at:asc", "created_at:desc"];

    [Theory]
    [MemberData(nameof(SortsUnderTest))]
    public async Task Marker_pagination_visits_every_image_once_in_order(string sort)
    {
        var names = new[] { "k", "c", null, "a", "k", "z", "b", "c", "y", "d", "k" };
        var owner = Caller.Member(NewProject());
        var suite = Guid.NewGuid().ToString("N");
        var images = new List<ImageRecord>();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            if (i == names.Length / 2)
            {
                // Two distinct creation seconds, so created_at orders really differ from id orders.
                while (DateTimeOffset.UtcNow.ToUnixTimeSeconds() <= images[^1].CreatedAt.ToUnixTimeSeconds())
                {
                    await Task.Delay(50);
                }
            }
            images.Add(await _cluster.CreateAsync(owner, ImageDraft.Empty.With("name", name).With("suite", suite)));
        }
        Func<ImageRecord, string> id = i => i.Id.ToString();
        var (criteria, expected) = sort switch
        {
            "default" => ((ImmutableArray<SortCriterion>)[], NewestFirst(images)),
            "name:asc" => ([new SortCriterion(SortKey.Name, false)],
                images.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.CreatedAt).ThenBy(id, StringComparer.Ordinal).ToList()),
            "name:desc,id:asc" => ([new SortCriterion(SortKey.Name, true), new SortCriterion(SortKey.Id, false)],
                images.OrderByDescending(i => i.Name, StringComparer.Ordinal).ThenBy(id, StringComparer.Ordinal).ToList()),
            "created_at:asc" => ([new SortCriterion(SortKey.CreatedAt, false)],
                images.OrderBy(i => i.CreatedAt).ThenBy(id, StringComparer.Ordinal).ToList()),
            _ => ([new SortCriterion(SortKey.CreatedAt, true)], NewestFirst(images)),
        };
        var query = new ImageQuery { Sort = criteria }.WithProperty("suite", suite);
        var whole = await _cluster.Catalog.ListAsync(owner, query with { Limit = 100 });
        Assert.Equal(Ids(expected), Ids(whole));

        var pages = new List<Guid[]>();
        Guid? marker = null;
        do
        {
            var page = await _cluster.Catalog.ListAsync(owner, query with { Limit = 4, Marker = marker });
            pages.Add(Ids(page));
            marker = page.Length == 4 ? page[^1].Id : null;
        }
        while (marker is not null && pages.Count < 10);

        Assert.Equal([4, 4, 3], pages.Select(p => p.Length));
        Assert.Equal(Ids(whole), pages.SelectMany(p => p));
        // Starting from any image continues right after it.
        for (var i = 0; i < whole.Length; i++)
        {
            var rest = await _cluster.Catalog.ListAsync(owner, query with { Limit = 100, Marker = whole[i].Id });
            Assert.Equal(Ids(whole.Skip(i + 1)), Ids(rest));
        }
    }

    [Fact]
    public async Task An_exact_multiple_of_the_limit_ends_with_an_empty_page()
    {
        var (owner, suite, _) = await CreateSuiteAsync(Named("a", "b", "c", "d"));
        var query = new ImageQuery { Limit = 2 }.WithProperty("suite", suite);

        var first = await _cluster.Catalog.ListAsync(owner, query);
        var second = await _cluster.Catalog.ListAsync(owner, query with { Marker = first[^1].Id });
        var third = await _cluster.Catalog.ListAsync(owner, query with { Marker = second[^1].Id });

        Assert.Equal(2, first.Length);
        Assert.Equal(2, second.Length);
        Assert.Empty(third);
    }

    [Fact]
    public async Task An_unknown_invisible_or_deleted_marker_is_a_bad_request()
    {
        var owner = Caller.Member(NewProject());
        var privateElsewhere = await _cluster.CreateAsync(Caller.Member(NewProject()), ImageDraft.Empty.With("visibility", "private"));
        var deleted = await _cluster.CreateAsync(owner);
        await _cluster.Image(deleted.Id).DeleteAsync(owner);

        foreach (var marker in new[] { Guid.NewGuid(), privateElsewhere.Id, deleted.Id })
        {
            await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Catalog.ListAsync(owner, new ImageQuery { Marker = marker }));
        }
    }

    [Fact]
    public async Task The_tag_filter_requires_every_tag()
    {
        var (owner, suite, images) = await CreateSuiteAsync(
            ImageDraft.Empty.With("tags", new[] { "x86", "64bit" }),
            ImageDraft.Empty.With("tags", new[] { "x86" }),
            ImageDraft.Empty.With("tags", new[] { "64bit", "x86", "extra" }),
            ImageDraft.Empty);
        var query = new ImageQuery().WithProperty("suite", suite);

        var both = await _cluster.Catalog.ListAsync(owner, query with { Tags = ["x86", "64bit"] });
        var one = await _cluster.Catalog.ListAsync(owner, query with { Tags = ["x86"] });
        var none = await _cluster.Catalog.ListAsync(owner, query with { Tags = ["arm"] });

        Assert.Equal(new[] { images[0].Id, images[2].Id }.Order(), Ids(both).Order());
        Assert.Equal(new[] { images[0].Id, images[1].Id, images[2].Id }.Order(), Ids(one).Order());
        Assert.Empty(none);
    }

    [Fact]
    public async Task Unknown_filter_names_match_custom_properties_exactly()
    {
        var (owner, suite, images) = await CreateSuiteAsync(
            ImageDraft.Empty.With("distro_name", "ubuntu").With("hw_disk_bus", "scsi"),
            ImageDraft.Empty.With("distro_name", "ubuntu"),
            ImageDraft.Empty.With("distro_name", "Ubuntu"),
            ImageDraft.Empty);
        var query = new ImageQuery().WithProperty("suite", suite);

        var ubuntu = await _cluster.Catalog.ListAsync(owner, query.WithProperty("distro_name", "ubuntu"));
        var both = await _cluster.Catalog.ListAsync(owner, query.WithProperty("distro_name", "ubuntu").WithProperty("hw_disk_bus", "scsi"));

        Assert.Equal(new[] { images[0].Id, images[1].Id }.Order(), Ids(ubuntu).Order());
        Assert.Equal([images[0].Id], Ids(both));
    }

    [Fact]
    public async Task Base_attribute_filters_name_in_status_owner_and_formats()
    {
        var (owner, suite, images) = await CreateSuiteAsync(
            ImageDraft.Empty.With("name", "glass, darkly").With("disk_format", "raw"),
            ImageDraft.Empty.With("name", "share me").With("disk_format", "qcow2"),
            ImageDraft.Empty.With("name", "other").With("disk_format", "raw"));
        var query = new ImageQuery().WithProperty("suite", suite);

        var byNames = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("name", FilterOp.In, ["glass, darkly", "share me", "absent"])) });
        var byName = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("name", FilterOp.Eq, ["other"])) });
        var byFormat = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("disk_format", FilterOp.Eq, ["raw"])) });
        var byStatus = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("status", FilterOp.In, ["saving", "queued"])) });
        var active = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("status", FilterOp.Eq, ["active"])) });
        var byOwner = await _cluster.Catalog.ListAsync(owner,
            query with { Filters = query.Filters.Add(new AttributeFilter("owner", FilterOp.Eq, [owner.ProjectId!])) });

        Assert.Equal(new[] { images[0].Id, images[1].Id }.Order(), Ids(byNames).Order());
        Assert.Equal([images[2].Id], Ids(byName));
        Assert.Equal(new[] { images[0].Id, images[2].Id }.Order(), Ids(byFormat).Order());
        Assert.Equal(3, byStatus.Length);
        Assert.Empty(active);
        Assert.Equal(3, byOwner.Length);
    }

    [Fact]
    public async Task Created_at_filters_compare_times()
    {
        var owner = Caller.Member(NewProject());
        var suite = Guid.NewGuid().ToString("N");
        var older = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("suite", suite));
        // Times are whole seconds: wait for the next one so the two images differ.
        while (DateTimeOffset.UtcNow.ToUnixTimeSeconds() <= older.CreatedAt.ToUnixTimeSeconds())
        {
            await Task.Delay(50);
        }
        var newer = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("suite", suite));
        Assert.True(newer.CreatedAt > older.CreatedAt);
        var query = new ImageQuery().WithProperty("suite", suite);
        Task<Guid[]> Filtered(FilterOp op, DateTimeOffset time) => ListIds(
            query with { Filters = query.Filters.Add(new AttributeFilter("created_at", op, [time.ToString("yyyy-MM-ddTHH:mm:ssZ")])) });
        async Task<Guid[]> ListIds(ImageQuery q) => Ids(await _cluster.Catalog.ListAsync(owner, q));

        Assert.Equal([newer.Id], await Filtered(FilterOp.Gt, older.CreatedAt));
        Assert.Equal([newer.Id, older.Id], await Filtered(FilterOp.Gte, older.CreatedAt));
        Assert.Equal([older.Id], await Filtered(FilterOp.Lt, newer.CreatedAt));
        Assert.Equal([older.Id], await Filtered(FilterOp.Eq, older.CreatedAt));
        Assert.Equal([newer.Id], await Filtered(FilterOp.Neq, older.CreatedAt));
        Assert.Empty(await Filtered(FilterOp.Gt, newer.CreatedAt));
    }

    [Fact]
    public async Task Malformed_filter_values_are_bad_requests()
    {
        var owner = Caller.Member(NewProject());
        await _cluster.CreateAsync(owner);

        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Filters = [new AttributeFilter("created_at", FilterOp.Gt, ["yesterday"])] }));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Filters = [new AttributeFilter("min_ram", FilterOp.Eq, ["lots"])] }));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Catalog.ListAsync(owner,
            new ImageQuery { Filters = [new AttributeFilter("protected", FilterOp.Eq, ["True"])] }));
    }

    [Fact]
    public async Task Size_range_filters_leave_out_images_without_data()
    {
        var (owner, suite, _) = await CreateSuiteAsync(Named("a"));

        Assert.Empty(await _cluster.Catalog.ListAsync(owner, new ImageQuery { SizeMin = 0 }.WithProperty("suite", suite)));
        Assert.Empty(await _cluster.Catalog.ListAsync(owner, new ImageQuery { SizeMax = long.MaxValue }.WithProperty("suite", suite)));
        Assert.Single(await _cluster.Catalog.ListAsync(owner, new ImageQuery().WithProperty("suite", suite)));
    }

    [Fact]
    public async Task Pages_merge_correctly_across_shards_with_many_owners()
    {
        var admin = Caller.Admin(NewProject());
        var suite = Guid.NewGuid().ToString("N");
        var names = new[] { "m", "a", "q", "c", null, "a" };
        var images = (await Task.WhenAll(Enumerable.Range(0, 36).Select(i => _cluster.CreateAsync(
            Caller.Admin(NewProject($"owner{i % 18}")),
            ImageDraft.Empty.With("visibility", "public").With("name", names[i % names.Length]).With("suite", suite))))).ToList();
        // The point of the test: the images really are spread over every shard.
        Assert.Equal(CatalogLayout.Default.Shards, images.Select(i => CatalogLayout.Default.Of(i.Owner, i.Id)).Distinct().Count());
        var reader = Caller.Member(NewProject());

        foreach (var (sort, expected) in new (ImmutableArray<SortCriterion>, IEnumerable<ImageRecord>)[]
        {
            ([], NewestFirst(images)),
            ([new SortCriterion(SortKey.Name, false)], images.OrderBy(i => i.Name, StringComparer.Ordinal)
                .ThenBy(i => i.CreatedAt).ThenBy(i => i.Id.ToString(), StringComparer.Ordinal)),
        })
        {
            foreach (var caller in new[] { reader, admin })
            {
                var listed = await _cluster.ListAllAsync(caller, new ImageQuery { Limit = 5, Sort = sort }.WithProperty("suite", suite));
                Assert.Equal(Ids(expected), Ids(listed));
            }
        }
    }
}
