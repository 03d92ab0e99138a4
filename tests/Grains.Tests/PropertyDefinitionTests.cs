using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>The typed property definitions catalog and its enforcement by the image grain (issue 4, item 3).</summary>
[Collection(ClusterCollection.Name)]
public sealed class PropertyDefinitionTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;
    private readonly Caller _admin = Caller.Admin(NewProject("admin"));

    private IPropertyDefinitionsGrain Definitions => _cluster.Client.PropertyDefinitions();

    /// <summary>A property name no other test defines.</summary>
    private static string NewName(string label = "x") => $"{label}_{Guid.NewGuid():N}";

    /// <summary>
    /// A new name defined like a seeded definition but enforced: the seeded ones only describe
    /// (compatible by default), so a test of refusals needs an operator's rule.
    /// </summary>
    private async Task<string> EnforcedCopyAsync(string seeded)
    {
        var definition = await Definitions.GetAsync(seeded);
        var name = definition.IsPrefix ? NewName(seeded.TrimEnd(':')) + ":" : NewName(seeded);
        await Definitions.DefineAsync(_admin, definition with { Name = name, Enforced = true });
        return name;
    }

    [Fact]
    public async Task The_catalog_starts_with_the_seeded_definitions()
    {
        var all = await Definitions.ListAsync();

        foreach (var name in new[] { "os_distro", "os_version", "hw_disk_bus", "hw_cpu_cores", "hw_cpu_sockets", "trait:" })
        {
            Assert.Contains(all, d => d.Name == name);
        }
        Assert.Equal(all.Select(d => d.Name).Order(StringComparer.Ordinal), all.Select(d => d.Name));
        var cores = await Definitions.GetAsync("hw_cpu_cores");
        Assert.Equal(PropertyType.Integer, cores.Type);
        Assert.Equal(1, cores.Minimum);
        Assert.Equal(1024, cores.Maximum);
        var bus = await Definitions.GetAsync("hw_disk_bus");
        Assert.Contains("virtio", bus.Enum);
        Assert.DoesNotContain("floppy", bus.Enum);
        Assert.True((await Definitions.GetAsync("trait:")).IsPrefix);
        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(NewName()));
    }

    [Fact]
    public async Task An_admin_defines_replaces_and_removes_a_definition()
    {
        var name = NewName();

        Assert.True(await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Enum = ["a"] }));
        Assert.False(await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Type = PropertyType.Integer, Maximum = 3 }));

        var replaced = await Definitions.GetAsync(name);
        Assert.Equal(PropertyType.Integer, replaced.Type);
        Assert.Equal(3, replaced.Maximum);
        Assert.Empty(replaced.Enum);
        Assert.Single(await Definitions.ListAsync(), d => d.Name == name);

        await Definitions.RemoveAsync(_admin, name);
        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(name));
        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.RemoveAsync(_admin, name));
    }

    [Fact]
    public async Task Only_admins_change_the_catalog()
    {
        var member = Caller.Member(NewProject());
        var name = NewName();

        await ThrowsGlance(ErrorKind.Forbidden, () => Definitions.DefineAsync(member, new PropertyDefinition { Name = name }));
        await ThrowsGlance(ErrorKind.Forbidden, () => Definitions.RemoveAsync(member, "hw_cpu_cores"));

        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(name));
        Assert.Equal(PropertyType.Integer, (await Definitions.GetAsync("hw_cpu_cores")).Type);
    }

    public static TheoryData<PropertyDefinition, string> InvalidDefinitions => new()
    {
        { new PropertyDefinition { Name = "bad_regex", Pattern = "([a-z" }, "not a valid regular expression" },
        { new PropertyDefinition { Name = "bad_range", Type = PropertyType.Integer, Minimum = 5, Maximum = 1 }, "greater than maximum" },
        { new PropertyDefinition { Name = "bad_pattern_type", Type = PropertyType.Integer, Pattern = "^1$" }, "pattern applies only to string" },
        { new PropertyDefinition { Name = "bad_range_type", Minimum = 1 }, "minimum and maximum apply only" },
        { new PropertyDefinition { Name = "bad_enum_type", Type = PropertyType.Boolean, Enum = ["true"] }, "enum applies only" },
        { new PropertyDefinition { Name = "bad_enum_value", Type = PropertyType.Integer, Enum = ["1", "two"] }, "'two' is not a valid integer" },
        { new PropertyDefinition { Name = "bad_length", MaxLength = 0 }, "maxLength must be at least 1" },
        { new PropertyDefinition { Name = "name" }, "is an image attribute" },
        { new PropertyDefinition { Name = "os_glance_thing" }, "reserved" },
        { new PropertyDefinition { Name = "" }, "1 to 255 characters" },
        { new PropertyDefinition { Name = "with space" }, "white space" },
    };

    [Theory]
    [MemberData(nameof(InvalidDefinitions))]
    public async Task An_invalid_definition_is_a_bad_request(PropertyDefinition definition, string because)
    {
        var error = await ThrowsGlance(ErrorKind.BadRequest, () => Definitions.DefineAsync(_admin, definition));

        Assert.Contains(because, error.Message);
        if (definition.Name.Length > 0)
        {
            await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(definition.Name));
        }
    }

    [Theory]
    [InlineData("many")]
    [InlineData("0")]
    [InlineData("1025")]
    [InlineData("4.5")]
    public async Task Create_with_a_value_breaking_a_definition_is_a_bad_request_naming_property_type_and_value(string value)
    {
        var id = Guid.NewGuid();
        var owner = Caller.Member(NewProject());
        var cores = await EnforcedCopyAsync("hw_cpu_cores");

        var error = await ThrowsGlance(ErrorKind.BadRequest,
            () => _cluster.Image(id).CreateAsync(owner, ImageDraft.Empty.With(cores, value)));

        Assert.Equal($"Property '{cores}' must be an integer between 1 and 1024: '{value}'", error.Message);
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(owner));
    }

    [Fact]
    public async Task Create_stores_values_that_fit_their_definitions()
    {
        var owner = Caller.Member(NewProject());

        var image = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("hw_cpu_cores", "4").With("hw_disk_bus", "virtio")
            .With("os_distro", "debian").With("trait:HW_CPU_X86_AVX2", "required").With("free_form", "anything"));

        Assert.Equal("4", image.Properties["hw_cpu_cores"]);
        Assert.Equal("virtio", image.Properties["hw_disk_bus"]);
        Assert.Equal("required", image.Properties["trait:HW_CPU_X86_AVX2"]);
        Assert.Equal("anything", image.Properties["free_form"]);
    }

    [Fact]
    public async Task Patch_validates_additional_properties_and_stays_atomic()
    {
        var owner = Caller.Member(NewProject());
        var cores = await EnforcedCopyAsync("hw_cpu_cores");
        var bus = await EnforcedCopyAsync("hw_disk_bus");
        var image = await _cluster.CreateAsync(owner);

        var updated = await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(cores, "4")]);
        Assert.Equal("4", updated.Properties[cores]);

        var error = await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(image.Id).UpdateAsync(owner,
            [PatchOperation.Replace("name", "renamed"), PatchOperation.Add(bus, "floppy")]));
        Assert.StartsWith($"Property '{bus}' must be a string, one of [", error.Message);
        Assert.EndsWith(": 'floppy'", error.Message);
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Replace(cores, "many")]));

        var current = await _cluster.Image(image.Id).GetAsync(owner);
        Assert.Null(current.Name);
        Assert.Equal("4", current.Properties[cores]);
        Assert.False(current.Properties.ContainsKey(bus));
        // Removing a defined property needs no valid value.
        var removed = await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Remove(cores)]);
        Assert.False(removed.Properties.ContainsKey(cores));
    }

    [Fact]
    public async Task Each_type_parses_the_string_it_is_given()
    {
        var names = new Dictionary<PropertyType, string>();
        foreach (var definition in new PropertyDefinition[]
        {
            new() { Name = NewName("bool"), Type = PropertyType.Boolean },
            new() { Name = NewName("num"), Type = PropertyType.Number, Minimum = 0.5, Maximum = 2 },
            new() { Name = NewName("arr"), Type = PropertyType.Array, MaxLength = 20 },
            new() { Name = NewName("obj"), Type = PropertyType.Object },
            new() { Name = NewName("str"), Pattern = "^[a-z]+$", MaxLength = 5 },
        })
        {
            await Definitions.DefineAsync(_admin, definition);
            names[definition.Type] = definition.Name;
        }
        var owner = Caller.Member(NewProject());
        var image = await _cluster.CreateAsync(owner);

        async Task Accepts(PropertyType type, string value) =>
            Assert.Equal(value, (await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(names[type], value)])).Properties[names[type]]);
        async Task Refuses(PropertyType type, string value, string requirement)
        {
            var error = await ThrowsGlance(ErrorKind.BadRequest,
                () => _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(names[type], value)]));
            Assert.Equal($"Property '{names[type]}' must be {requirement}: '{value}'", error.Message);
        }

        // Typed now (issue 4, item 1): a boolean is stored as JSON and shown as "true"/"false" in the image view.
        Assert.Equal("true", (await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(names[PropertyType.Boolean], "TRUE")])).Properties[names[PropertyType.Boolean]]);
        await Accepts(PropertyType.Boolean, "false");
        await Refuses(PropertyType.Boolean, "yes", "a boolean ('true' or 'false')");
        await Accepts(PropertyType.Number, "1.5");
        await Accepts(PropertyType.Number, "2");
        await Refuses(PropertyType.Number, "0.25", "a number between 0.5 and 2");
        await Refuses(PropertyType.Number, "1,5", "a number between 0.5 and 2");
        await Refuses(PropertyType.Number, "NaN", "a number between 0.5 and 2");
        await Accepts(PropertyType.Array, "[1, \"a\"]");
        await Refuses(PropertyType.Array, "{}", "a JSON array, of at most 20 characters");
        await Refuses(PropertyType.Array, "[1, 2, 3, 4, 5, 6, 7, 8]", "a JSON array, of at most 20 characters");
        await Accepts(PropertyType.Object, "{\"a\": 1}");
        await Refuses(PropertyType.Object, "not json", "a JSON object");
        await Accepts(PropertyType.String, "abc");
        await Refuses(PropertyType.String, "ABC", "a string, matching '^[a-z]+$', of at most 5 characters");
        await Refuses(PropertyType.String, "abcdef", "a string, matching '^[a-z]+$', of at most 5 characters");
    }

    [Fact]
    public async Task Prefix_definitions_govern_every_matching_name_and_an_exact_name_wins()
    {
        var prefix = NewName("pre") + "_";
        await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = prefix, IsPrefix = true, Type = PropertyType.Integer });
        await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = prefix + "long_", IsPrefix = true, Enum = ["x"] });
        await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = prefix + "free" });
        var trait = await EnforcedCopyAsync("trait:");
        var owner = Caller.Member(NewProject());
        var image = await _cluster.CreateAsync(owner);
        var grain = _cluster.Image(image.Id);

        await grain.UpdateAsync(owner, [PatchOperation.Add(prefix + "a", "12"), PatchOperation.Add(prefix + "free", "text"),
            PatchOperation.Add(prefix + "long_b", "x"), PatchOperation.Add(trait + "CUSTOM_GPU", "required")]);
        var error = await ThrowsGlance(ErrorKind.BadRequest, () => grain.UpdateAsync(owner, [PatchOperation.Add(prefix + "b", "text")]));
        Assert.Equal($"Property '{prefix}b' must be an integer: 'text'", error.Message);
        await ThrowsGlance(ErrorKind.BadRequest, () => grain.UpdateAsync(owner, [PatchOperation.Add(prefix + "long_c", "12")]));
        await ThrowsGlance(ErrorKind.BadRequest, () => grain.UpdateAsync(owner, [PatchOperation.Add(trait + "CUSTOM_GPU", "maybe")]));

        var current = await grain.GetAsync(owner);
        Assert.Equal("12", current.Properties[prefix + "a"]);
        Assert.Equal("text", current.Properties[prefix + "free"]);
        Assert.Equal("required", current.Properties[trait + "CUSTOM_GPU"]);
    }

    [Fact]
    public async Task A_changed_definition_governs_the_very_next_write()
    {
        var name = NewName();
        await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Enum = ["a"] });
        var owner = Caller.Member(NewProject());
        var image = await _cluster.CreateAsync(owner, ImageDraft.Empty.With(name, "a"));

        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Replace(name, "b")]));
        await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Enum = ["a", "b"] });
        Assert.Equal("b", (await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Replace(name, "b")])).Properties[name]);
        await Definitions.RemoveAsync(_admin, name);
        Assert.Equal("c", (await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Replace(name, "c")])).Properties[name]);
    }

    [Fact]
    public async Task Built_in_rules_still_apply_alongside_definitions()
    {
        var owner = Caller.Member(NewProject());

        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateAsync(owner, ImageDraft.Empty.With("kernel_id", "not-a-uuid")));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateAsync(owner, ImageDraft.Empty.With("hw_cpu_cores", 4)));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateAsync(owner, ImageDraft.Empty.With("os_distro", null)));
        var image = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("kernel_id", null));
        Assert.Equal("", image.Properties["kernel_id"]);
    }

    [Fact]
    public async Task Seeds_are_written_once_and_changes_survive_a_restart()
    {
        using var directory = new TempDirectory();
        var name = NewName();
        await using (var first = await GlanceTestCluster.StartAsync(directory.Path))
        {
            var definitions = first.Client.PropertyDefinitions();
            await definitions.RemoveAsync(_admin, "os_distro");
            await definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Type = PropertyType.Boolean });
        }
        await using var second = await GlanceTestCluster.StartAsync(directory.Path);

        var all = await second.Client.PropertyDefinitions().ListAsync();
        Assert.DoesNotContain(all, d => d.Name == "os_distro");
        Assert.Equal(PropertyType.Boolean, Assert.Single(all, d => d.Name == name).Type);
        Assert.Contains(all, d => d.Name == "hw_cpu_cores");
        var image = await second.CreateAsync(Caller.Member(NewProject()), ImageDraft.Empty.With("os_distro", "plan9"));
        Assert.Equal("plan9", image.Properties["os_distro"]);
    }
}
