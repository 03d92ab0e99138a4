using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using Glance.Grains.Extensions.PropertyProtections;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>Glance's property protections rules file (issue 4, item 5): parsing, and enforcement by the grains.</summary>
public sealed class PropertyProtectionTests
{
    private const string Rules = """
        # roles format, first match wins
        [^x_owner_.*]
        create = admin,member
        read = admin,member
        update = admin,member
        delete = admin,member

        [^x_admin_.*]
        create = admin
        read = admin
        update = admin
        delete = admin

        [^x_ro_.*]
        create = admin
        read = @
        update = !
        delete = admin

        [^x_]
        create = @
        read = @

        [.*]
        create = @
        read = @
        update = @
        delete = @
        """;

    private static readonly Caller Member = Caller.Member("p-member");
    private static readonly Caller Reader = new("p-reader", null, ["reader"]);
    private static readonly Caller Admin = Caller.Admin("p-admin");

    [Fact]
    public void The_first_matching_section_wins_and_a_name_no_section_matches_is_refused()
    {
        var rules = PropertyProtections.Parse(Rules);

        Assert.True(rules.Allows(Member, "x_owner_a", "update"));
        Assert.False(rules.Allows(Reader, "x_owner_a", "read"));
        Assert.False(rules.Allows(Member, "x_admin_a", "read"));
        Assert.True(rules.Allows(Admin, "x_admin_a", "delete"));
        Assert.True(rules.Allows(Reader, "x_ro_a", "read"));
        Assert.False(rules.Allows(Admin, "x_ro_a", "update"));
        // "x_other" matches [^x_] first, which names no update: nobody may update it.
        Assert.True(rules.Allows(Member, "x_other", "create"));
        Assert.False(rules.Allows(Admin, "x_other", "update"));
        Assert.True(rules.Allows(Reader, "anything", "delete"));
        Assert.False(PropertyProtections.Parse("[^only_]\nread = @\n").Allows(Admin, "other", "read"));
        Assert.True(PropertyProtections.None.Allows(Reader, "x_admin_a", "delete"));
    }

    [Theory]
    [InlineData("[(unclosed]\nread = @\n")]
    [InlineData("[.*]\nread = @,admin\n")]
    [InlineData("[.*]\nread = !,admin\n")]
    [InlineData("[.*]\nlist = admin\n")]
    [InlineData("read = admin\n")]
    public void A_bad_rules_file_is_refused(string text) =>
        Assert.Throws<InvalidOperationException>(() => PropertyProtections.Parse(text));

    [Fact]
    public async Task Both_write_paths_and_every_read_path_obey_the_rules()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "property-protections.conf");
        await File.WriteAllTextAsync(file, Rules);
        await using var cluster = await GlanceTestCluster.StartAsync(directory.Path, settings: new Dictionary<string, string?>
        {
            ["Glance:PropertyProtections:File"] = file,
        });
        var member = Caller.Member(NewProject("m"));
        var admin = Caller.Admin(NewProject("admin"));
        var record = await cluster.CreateAsync(admin, ImageDraft.Empty.With("owner", member.ProjectId).With("visibility", "public"));
        var image = cluster.Image(record.Id);
        static PropertyWrite Value(string value) => new(JsonSerializer.Serialize(value));

        await image.SetPropertyAsync(member, "x_owner_a", Value("1"));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(member, "x_admin_a", Value("2")));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(member, [PatchOperation.Add("x_admin_a", "2")]));
        await ThrowsGlance(ErrorKind.Forbidden, () => cluster.CreateAsync(member, ImageDraft.Empty.With("x_admin_b", "2")));
        await image.SetPropertyAsync(admin, "x_admin_a", Value("2"));
        await image.UpdateAsync(admin, [PatchOperation.Add("x_ro_a", "3")]);

        // Read: the admin-only property is left out for the member everywhere.
        Assert.Equal(["x_owner_a", "x_ro_a"], (await image.GetAsync(member)).Properties.Keys);
        Assert.Equal(["x_owner_a", "x_ro_a"], (await image.ListPropertiesAsync(member)).Select(p => p.Name));
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetPropertyAsync(member, "x_admin_a"));
        var query = new ImageQuery { Limit = ImageQuery.MaxLimit };
        Assert.Empty(await cluster.Catalog.ListAsync(member, query.WithProperty("x_admin_a", "2")));
        Assert.Equal(["x_admin_a", "x_owner_a", "x_ro_a"], Assert.Single(await cluster.Catalog.ListAsync(admin, query.WithProperty("x_admin_a", "2"))).Properties.Keys);
        Assert.Equal(["x_owner_a", "x_ro_a"], Assert.Single(await cluster.Catalog.ListAsync(member, query.WithProperty("x_owner_a", "1"))).Properties.Keys);

        // Update '!' holds even for an admin; delete follows its own rule.
        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetPropertyAsync(admin, "x_ro_a", Value("4")));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(member, [PatchOperation.Replace("x_ro_a", "4")]));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.RemovePropertyAsync(member, "x_ro_a", null));
        await image.RemovePropertyAsync(admin, "x_ro_a", null);
        await ThrowsGlance(ErrorKind.NotFound, () => image.RemovePropertyAsync(member, "x_admin_a", null));
        Assert.Equal(["x_admin_a", "x_owner_a"], (await image.GetAsync(admin)).Properties.Keys);
    }
}
