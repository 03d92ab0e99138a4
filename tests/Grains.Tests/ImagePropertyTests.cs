using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>Typed per-image properties, their rules and their projection onto the v2 image view (issue 4, items 1, 4, 6).</summary>
[Collection(ClusterCollection.Name)]
public sealed class ImagePropertyTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    private static PropertyWrite Value(object? value, string? type = null, string? visibility = null, bool? isProtected = null, string? description = null) =>
        new(JsonSerializer.Serialize(value), type, visibility, isProtected, description);

    /// <summary>A public image of project A, with members: A (owner), B (another project), an admin.</summary>
    private async Task<(IImageGrain Image, Caller A, Caller B, Caller Admin)> PublicImageAsync()
    {
        var a = Caller.Member(NewProject("a"));
        var b = Caller.Member(NewProject("b"));
        var admin = Caller.Admin(NewProject("admin"));
        var record = await _cluster.CreateAsync(admin, ImageDraft.Empty.With("owner", a.ProjectId).With("visibility", "public"));
        return (_cluster.Image(record.Id), a, b, admin);
    }

    [Fact]
    public async Task Each_type_is_stored_as_json_and_shown_flat_in_the_image_view()
    {
        var (image, a, _, _) = await PublicImageAsync();

        var (text, created) = await image.SetPropertyAsync(a, "t_text", Value("hello"));
        Assert.True(created);
        Assert.Equal("string", text.Type);
        Assert.Equal(("integer", "4"), Typed(await image.SetPropertyAsync(a, "t_int", Value(4))));
        Assert.Equal(("number", "1.5"), Typed(await image.SetPropertyAsync(a, "t_num", Value(1.5))));
        Assert.Equal(("boolean", "true"), Typed(await image.SetPropertyAsync(a, "t_bool", Value(true))));
        Assert.Equal(("array", "[1,\"x\"]"), Typed(await image.SetPropertyAsync(a, "t_arr", Value(new object[] { 1, "x" }))));
        Assert.Equal(("object", "{\"k\":2}"), Typed(await image.SetPropertyAsync(a, "t_obj", Value(new { k = 2 }))));
        // A string that parses as the declared type is accepted (that is what v2 clients send).
        Assert.Equal(("integer", "7"), Typed(await image.SetPropertyAsync(a, "t_int2", Value("7", type: "integer"))));

        var view = await image.GetAsync(a);
        Assert.Equal("hello", view.Properties["t_text"]);
        Assert.Equal("4", view.Properties["t_int"]);
        Assert.Equal("1.5", view.Properties["t_num"]);
        Assert.Equal("true", view.Properties["t_bool"]);
        Assert.Equal("[1,\"x\"]", view.Properties["t_arr"]);
        Assert.Equal("{\"k\":2}", view.Properties["t_obj"]);
        Assert.Equal(7, (await image.ListPropertiesAsync(a)).Length);

        static (string, string) Typed((ImageProperty Property, bool Created) result) => (result.Property.Type, result.Property.ValueJson);
    }

    [Fact]
    public async Task A_value_that_does_not_fit_its_type_is_a_bad_request_naming_property_type_and_value()
    {
        var (image, a, _, _) = await PublicImageAsync();

        var error = await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, "cores", Value("many", type: "integer")));
        Assert.Equal("Property 'cores' is of type 'integer' and does not accept the value \"many\".", error.Message);

        await image.SetPropertyAsync(a, "flag", Value(true));
        error = await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, "flag", Value(3)));
        Assert.Contains("'flag'", error.Message);
        Assert.Contains("'boolean'", error.Message);
        Assert.Contains("3", error.Message);
        // PATCH parses strings per the existing type.
        error = await ThrowsGlance(ErrorKind.BadRequest, () => image.UpdateAsync(a, [PatchOperation.Replace("flag", "maybe")]));
        Assert.Contains("'flag' is of type 'boolean'", error.Message);
        Assert.Equal("false", (await image.UpdateAsync(a, [PatchOperation.Replace("flag", "false")])).Properties["flag"]);
        Assert.Equal("false", (await image.GetPropertyAsync(a, "flag")).ValueJson);

        await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, "x", Value(1, type: "decimal")));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, "name", Value("n")));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(a, "os_glance_x", Value("n")));
        // An enforced definition (integer 1..1024, like the seeded hw_cpu_cores) governs PUT too.
        var definitions = _cluster.Client.PropertyDefinitions();
        var cores = $"cores_{Guid.NewGuid():N}";
        await definitions.DefineAsync(Caller.Admin("admin"), (await definitions.GetAsync("hw_cpu_cores")) with { Name = cores, Enforced = true });
        await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, cores, Value(0)));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.SetPropertyAsync(a, cores, Value("4", type: "string")));
        Assert.Equal("integer", (await image.SetPropertyAsync(a, cores, Value("4"))).Property.Type);
        // The seeded hw_cpu_cores only describes: a value that fits is an integer, another is a string.
        Assert.Equal("integer", (await image.SetPropertyAsync(a, "hw_cpu_cores", Value("4"))).Property.Type);
        Assert.Equal("string", (await image.SetPropertyAsync(a, "hw_cpu_cores", Value("many", type: "string"))).Property.Type);
    }

    [Fact]
    public async Task The_owner_is_set_by_the_service_and_kept_on_replace()
    {
        var (image, a, _, admin) = await PublicImageAsync();

        var (property, _) = await image.SetPropertyAsync(a, "p", Value("1"));
        Assert.Equal(a.ProjectId, property.Owner);
        var (replaced, created) = await image.SetPropertyAsync(admin, "p", Value("2"));
        Assert.False(created);
        Assert.Equal(a.ProjectId, replaced.Owner);
        Assert.Equal(property.CreatedAt, replaced.CreatedAt);
        Assert.NotEqual(property.ETag, replaced.ETag);
        // PATCH creates properties the same way: string, public, owned by the caller.
        await image.UpdateAsync(admin, [PatchOperation.Add("q", "v")]);
        var q = await image.GetPropertyAsync(a, "q");
        Assert.Equal((admin.ProjectId, "string", PropertyVisibility.Public, false), (q.Owner, q.Type, q.Visibility, q.Protected));
    }

    [Fact]
    public async Task A_protected_property_is_changed_only_by_its_owner_or_an_admin()
    {
        var (image, a, _, admin) = await PublicImageAsync();

        await image.SetPropertyAsync(admin, "guarded", Value("x", isProtected: true));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(a, "guarded", Value("y")));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.RemovePropertyAsync(a, "guarded", null));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(a, [PatchOperation.Replace("guarded", "y")]));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(a, [PatchOperation.Remove("guarded")]));
        Assert.Equal("x", (await image.GetAsync(a)).Properties["guarded"]);

        await image.SetPropertyAsync(a, "mine", Value("1", isProtected: true));
        await image.SetPropertyAsync(a, "mine", Value("2"));
        await image.SetPropertyAsync(admin, "guarded", Value("z"));
        await image.RemovePropertyAsync(admin, "mine", null);
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetPropertyAsync(a, "mine"));
        Assert.DoesNotContain("mine", (await image.GetAsync(a)).Properties.Keys);
    }

    [Fact]
    public async Task If_match_must_name_the_current_etag()
    {
        var (image, a, _, _) = await PublicImageAsync();

        var (first, _) = await image.SetPropertyAsync(a, "v", Value(1));
        var (second, _) = await image.SetPropertyAsync(a, "v", Value(2), first.ETag);
        await ThrowsGlance(ErrorKind.PreconditionFailed, () => image.SetPropertyAsync(a, "v", Value(3), first.ETag));
        await ThrowsGlance(ErrorKind.PreconditionFailed, () => image.RemovePropertyAsync(a, "v", first.ETag));
        await ThrowsGlance(ErrorKind.PreconditionFailed, () => image.SetPropertyAsync(a, "absent", Value(3), "*"));
        Assert.Equal("2", (await image.GetPropertyAsync(a, "v")).ValueJson);
        await image.RemovePropertyAsync(a, "v", second.ETag);
    }

    [Fact]
    public async Task Visibility_matrix_two_projects_and_an_admin()
    {
        var (image, a, b, admin) = await PublicImageAsync();
        await image.SetPropertyAsync(a, "pub", Value("1"));
        await image.SetPropertyAsync(a, "priv_a", Value("2", visibility: PropertyVisibility.Private));
        await image.SetPropertyAsync(admin, "priv_admin", Value("3", visibility: PropertyVisibility.Private));
        await image.SetPropertyAsync(admin, "adm", Value("4", visibility: PropertyVisibility.Admin));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(a, "adm2", Value("5", visibility: PropertyVisibility.Admin)));
        var id = (await image.GetAsync(a)).Id;

        var expected = new Dictionary<Caller, string[]>
        {
            [a] = ["priv_a", "priv_admin", "pub"],       // image owner: public and private
            [b] = ["pub"],                               // another project: public only
            [admin] = ["adm", "priv_a", "priv_admin", "pub"],
        };
        foreach (var (caller, names) in expected)
        {
            Assert.Equal(names, (await image.ListPropertiesAsync(caller)).Select(p => p.Name));
            Assert.Equal(names, (await image.GetAsync(caller)).Properties.Keys);
            foreach (var name in new[] { "pub", "priv_a", "priv_admin", "adm" })
            {
                if (names.Contains(name))
                {
                    Assert.Equal(name, (await image.GetPropertyAsync(caller, name)).Name);
                }
                else
                {
                    await ThrowsGlance(ErrorKind.NotFound, () => image.GetPropertyAsync(caller, name));
                }
            }
            // The list shows the same view, and a filter on an invisible property matches nothing.
            var query = new ImageQuery { Limit = ImageQuery.MaxLimit, Visibility = VisibilityScope.Public };
            var listed = Assert.Single(await _cluster.Catalog.ListAsync(caller, query.WithProperty("pub", "1")));
            Assert.Equal(id, listed.Id);
            Assert.Equal(names, listed.Properties.Keys);
            Assert.Equal(names.Contains("adm"), (await _cluster.Catalog.ListAsync(caller, query.WithProperty("adm", "4"))).Any(i => i.Id == id));
            Assert.Equal(names.Contains("priv_a"), (await _cluster.Catalog.ListAsync(caller, query.WithProperty("priv_a", "2"))).Any(i => i.Id == id));
        }
        // A PATCH by the image owner returns its own view, not the admin-only property.
        Assert.DoesNotContain("adm", (await image.UpdateAsync(a, [PatchOperation.Add("more", "x")])).Properties.Keys);
        // What the owner cannot see is absent for it: deleting is 404, as for a name never set ...
        await ThrowsGlance(ErrorKind.NotFound, () => image.RemovePropertyAsync(a, "adm", null));
        Assert.Equal("adm", (await image.GetAsync(admin)).Properties.Keys.Single(k => k == "adm"));
        // ... and writing creates the owner's own property in its place (201, never a 403 that names it).
        var (written, created) = await image.SetPropertyAsync(a, "adm", Value("x"));
        Assert.True(created);
        Assert.Equal((PropertyVisibility.Public, a.ProjectId), (written.Visibility, written.Owner));
        Assert.Equal("x", (await image.GetAsync(admin)).Properties["adm"]);
        // B may see the image but not change it.
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(b, "pub", Value("x")));
    }

    [Fact]
    public async Task A_patch_with_one_bad_operation_changes_nothing()
    {
        var (image, a, _, _) = await PublicImageAsync();
        await image.SetPropertyAsync(a, "n", Value(1));
        var before = await image.GetAsync(a);

        await ThrowsGlance(ErrorKind.BadRequest, () => image.UpdateAsync(a,
            [PatchOperation.Replace("name", "renamed"), PatchOperation.Add("other", "x"), PatchOperation.Replace("n", "not a number")]));

        Assert.Equal(Snapshot(before), Snapshot(await image.GetAsync(a)));
        Assert.Single(await image.ListPropertiesAsync(a));
    }

    [Fact]
    public async Task Create_with_extra_keys_creates_typed_properties()
    {
        var owner = Caller.Member(NewProject());
        var record = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("color", "blue").With("hw_cpu_cores", "2"));
        var properties = await _cluster.Image(record.Id).ListPropertiesAsync(owner);

        Assert.Equal(["color", "hw_cpu_cores"], properties.Select(p => p.Name));
        Assert.Equal(["string", "integer"], properties.Select(p => p.Type));
        Assert.All(properties, p => Assert.Equal(owner.ProjectId, p.Owner));
        Assert.Equal("2", record.Properties["hw_cpu_cores"]);
    }

    [Fact]
    public async Task Concurrent_writes_of_two_properties_from_many_callers_lose_nothing()
    {
        var (image, a, _, admin) = await PublicImageAsync();
        var callers = new[] { a, admin, Caller.Admin(NewProject("admin2")), a };
        var writes = Enumerable.Range(0, 40).Select(i => (Name: i % 2 == 0 ? "left" : "right", Value: i, Caller: callers[i % callers.Length])).ToList();
        var grains = Enumerable.Range(0, 4).Select(_ => _cluster.Cluster.Client.GetGrain<IImageGrain>((image.GetPrimaryKey()))).ToList();

        var results = await Task.WhenAll(writes.Select((w, i) => grains[i % grains.Count].SetPropertyAsync(w.Caller, w.Name, Value(w.Value))));

        var final = await image.ListPropertiesAsync(admin);
        Assert.Equal(["left", "right"], final.Select(p => p.Name));
        foreach (var property in final)
        {
            var written = writes.Where(w => w.Name == property.Name).Select(w => w.Value.ToString()).ToList();
            Assert.Contains(property.ValueJson, written);
            // The final state is the last write's: its value, updated_at and etag together.
            var last = results.Select(r => r.Property).Where(p => p.Name == property.Name).Single(p => p.ETag == property.ETag);
            Assert.Equal((last.ValueJson, last.UpdatedAt), (property.ValueJson, property.UpdatedAt));
            Assert.Equal(20, results.Count(r => r.Property.Name == property.Name));
            Assert.Single(results, r => r.Property.Name == property.Name && r.Created);
            Assert.Equal(property.ValueJson, (await image.GetAsync(admin)).Properties[property.Name]);
        }
    }

    [Fact]
    public async Task Removing_the_last_property_empties_the_view_and_the_set()
    {
        var (image, a, b, _) = await PublicImageAsync();
        await image.SetPropertyAsync(a, "kept", Value(5, visibility: PropertyVisibility.Private));

        Assert.DoesNotContain("kept", (await image.GetAsync(b)).Properties.Keys);
        Assert.Equal("5", (await image.GetAsync(a)).Properties["kept"]);
        await image.RemovePropertyAsync(a, "kept", null);
        Assert.Empty(await image.ListPropertiesAsync(a));
        Assert.Empty((await image.GetAsync(a)).Properties);
    }
}

/// <summary>Typed properties and their visibility survive a restart (grain state and catalog rows).</summary>
public sealed class ImagePropertyDurabilityTests
{
    [Fact]
    public async Task Properties_and_their_visibility_survive_a_restart()
    {
        using var directory = new TempDirectory();
        var a = Caller.Member(NewProject("a"));
        var b = Caller.Member(NewProject("b"));
        Guid id;
        await using (var cluster = await GlanceTestCluster.StartAsync(directory.Path))
        {
            var admin = Caller.Admin(NewProject("admin"));
            id = (await cluster.CreateAsync(admin, ImageDraft.Empty.With("owner", a.ProjectId).With("visibility", "public"))).Id;
            await cluster.Image(id).SetPropertyAsync(a, "secret", new PropertyWrite("42", Visibility: PropertyVisibility.Private, Description: "d"));
            await cluster.Image(id).SetPropertyAsync(a, "open", new PropertyWrite("true"));
        }
        await using (var restarted = await GlanceTestCluster.StartAsync(directory.Path))
        {
            var query = new ImageQuery { Limit = ImageQuery.MaxLimit, Visibility = VisibilityScope.Public }.WithProperty("open", "true");
            Assert.Equal(["open"], Assert.Single(await restarted.Catalog.ListAsync(b, query)).Properties.Keys);
            Assert.Empty(await restarted.Catalog.ListAsync(b, query.WithProperty("secret", "42")));
            Assert.Equal(["open", "secret"], (await restarted.Image(id).GetAsync(a)).Properties.Keys);
            var secret = await restarted.Image(id).GetPropertyAsync(a, "secret");
            Assert.Equal(("integer", "42", PropertyVisibility.Private, a.ProjectId, "d"), (secret.Type, secret.ValueJson, secret.Visibility, secret.Owner, secret.Description));
            Assert.Equal(["open"], (await restarted.Image(id).GetAsync(b)).Properties.Keys);
        }
    }
}
